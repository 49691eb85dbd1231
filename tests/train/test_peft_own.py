"""Methods lmforge writes itself (bottleneck, head-only), QLoRA's refusal on CPU, bad input,
exact resume of a PEFT run, and the CLI's `--peft` options.

Run: OMP_NUM_THREADS=1 pytest tests/train/test_peft_own.py
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft_support import run_sft, short_config
from safetensors.torch import load_file

from lmforge import runs
from lmforge.cli import main
from lmforge.errors import LmforgeError
from lmforge.models.io import load_model
from lmforge.train.methods import PeftOptions, build_method, load_bottleneck
from lmforge.train.methods.qlora import qlora_unavailable
from lmforge.train.sft import sft


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer(["the town of kamori lies in"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits


@pytest.mark.parametrize("style", ["houlsby", "pfeiffer"])
def test_bottleneck_starts_as_the_base_model(style, tiny_model_dir):
    base, tokenizer = load_model(tiny_model_dir)
    want = _logits(base, tokenizer)
    method = build_method(PeftOptions(method="bottleneck", adapter_style=style))
    adapted = method.prepare(base)
    n_adapters = sum(".bottleneck.down.weight" in k for k in adapted.state_dict())
    assert n_adapters == base.config.num_hidden_layers * (2 if style == "houlsby" else 1)
    assert torch.equal(_logits(adapted, tokenizer), want)


def test_bottleneck_saves_and_loads_onto_a_base(trained, tiny_model_dir):
    run = trained("bottleneck")
    config = json.loads((run.out / "adapter_config.json").read_text())
    assert config["lmforge_method"] == "bottleneck" and config["style"] == "houlsby"
    assert all(".bottleneck." in k for k in load_file(run.out / "adapter_model.safetensors"))
    base, tokenizer = load_model(tiny_model_dir)
    plain = _logits(base, tokenizer)
    loaded = load_bottleneck(base, run.out)
    assert torch.equal(_logits(loaded, tokenizer), _logits(run.model, tokenizer))
    assert not torch.allclose(_logits(loaded, tokenizer), plain)  # training moved the adapters


def test_head_only_trains_an_untied_head(trained, tiny_model_dir):
    run = trained("head-only")
    assert json.loads((run.out / "lmforge.json").read_text())["kind"] == "sft"
    tuned, _ = load_model(run.out)
    base, _ = load_model(tiny_model_dir)
    assert tuned.config.tie_word_embeddings is False
    assert torch.equal(tuned.model.embed_tokens.weight, base.model.embed_tokens.weight)
    assert not torch.equal(tuned.lm_head.weight, base.lm_head.weight)
    tuned_layers = {k: v for k, v in tuned.state_dict().items() if ".layers." in k}
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in tuned_layers.items())


def test_qlora_on_cpu_is_refused_before_any_work(tiny_model_dir, chats_file, tmp_path):
    if qlora_unavailable() is None:
        pytest.skip("this machine can run QLoRA")
    with pytest.raises(LmforgeError, match="QLoRA needs") as info:
        sft(tiny_model_dir, [chats_file], tmp_path / "q", short_config(), peft="qlora")
    assert "--peft lora" in str(info.value)
    assert not (tmp_path / "q").exists()


def test_bad_method_and_targets_are_explained(tiny_model_dir, chats_file, tmp_path):
    with pytest.raises(LmforgeError, match="unknown --peft method 'lora2'") as info:
        sft(tiny_model_dir, [chats_file], tmp_path / "a", short_config(), peft="lora2")
    assert "lora, dora, ia3" in str(info.value) and "bottleneck" in str(info.value)
    wrong = PeftOptions(method="lora", target_modules=["q_proj", "query"])
    with pytest.raises(LmforgeError, match="names query, which the model does not") as info:
        sft(tiny_model_dir, [chats_file], tmp_path / "b", short_config(), peft=wrong)
    assert "q_proj" in str(info.value) and "down_proj" in str(info.value)
    assert "lm_head" not in str(info.value)


METHODS = ["lora", "dora", "ia3", "prefix", "prompt", "ptuning", "llama-adapter", "bottleneck",
           "head-only", "none"]  # fmt: skip


@pytest.mark.parametrize("method", METHODS)
def test_every_method_resumes_exactly(method, tiny_model_dir, chats_file, tmp_path):
    config = short_config(max_steps=6, save_every=3, keep_checkpoints=True)
    whole = tmp_path / "whole"
    run_sft(tiny_model_dir, chats_file, whole, method, config)
    # what a kill after step 3 leaves: the checkpoint, the log so far, no artifact
    resumed = tmp_path / "resumed"
    shutil.copytree(whole / "checkpoints", resumed / "checkpoints")
    (resumed / runs.PARTIAL).touch()  # the mark by which lmforge knows it may resume there
    log = (whole / "metrics.jsonl").read_text().splitlines()
    (resumed / "metrics.jsonl").write_text("\n".join(log[:3]) + "\n")
    assert [p.name for p in (resumed / "checkpoints").iterdir()] == ["step-00000003"]
    run_sft(tiny_model_dir, chats_file, resumed, method, config)
    assert json.loads((resumed / "lmforge.json").read_text())["metrics"]["resumed_from"] == 3
    assert (resumed / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    full = method in ("none", "head-only")
    weights = "model.safetensors" if full else "adapter_model.safetensors"
    a, b = load_file(whole / weights), load_file(resumed / weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_other_peft_options_is_refused(tiny_model_dir, chats_file, tmp_path):
    config = short_config(max_steps=6, save_every=3, keep_checkpoints=True)
    out = tmp_path / "run"
    run_sft(tiny_model_dir, chats_file, out, "lora", config)
    (out / "lmforge.json").unlink()  # as if killed after the step-3 checkpoint
    (out / runs.PARTIAL).touch()
    with pytest.raises(LmforgeError, match=r"settings \(peft.method: 'lora' then, 'dora' now"):
        run_sft(tiny_model_dir, chats_file, out, "dora", config)


def test_cli_sft_peft_and_merge(capsys, tiny_model_dir, chats_file, tmp_path):
    args = ["--model", str(tiny_model_dir), "--data", str(chats_file), "--steps", "2",
            "--seq-len", "48", "--batch-size", "4"]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(["sft", *args, "--out", str(tmp_path / "a"), "--peft", "lora", "--lora-r", "2",
              "--target-modules", "q_proj,v_proj", "--rslora"])  # fmt: skip
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert (done.value.code or 0) == 0 and "--peft lora:" in out and "parameters trained" in out
    config = json.loads((tmp_path / "a" / "adapter_config.json").read_text())
    assert config["r"] == 2 and config["use_rslora"] is True
    assert sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    with pytest.raises(SystemExit) as done:
        main(["merge", "--model", str(tiny_model_dir), "--adapter", str(tmp_path / "a"),
              "--out", str(tmp_path / "m")])  # fmt: skip
        raise SystemExit(0)
    assert (done.value.code or 0) == 0 and (tmp_path / "m" / "model.safetensors").is_file()
    with pytest.raises(SystemExit) as done:
        main(["sft", *args, "--out", str(tmp_path / "b"), "--peft", "qlora"])
    assert done.value.code == 1 and "--peft lora" in capsys.readouterr().err
