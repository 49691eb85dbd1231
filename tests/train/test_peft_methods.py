"""PEFT methods on the shared loop: what trains, what is saved, and that peft can open it.

Run: OMP_NUM_THREADS=1 pytest tests/train/test_peft_methods.py
"""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel, get_peft_model

from lmforge.models.io import load_model
from lmforge.train.methods import build_method

PEFT_LIB = ["lora", "dora", "ia3", "prefix", "prompt", "ptuning", "llama-adapter"]


def _ids(tokenizer) -> torch.Tensor:
    return tokenizer(["the town of kamori lies in", "카모리는 벨덴 지방의"], return_tensors="pt",
                     padding=True)["input_ids"]  # fmt: skip


def _logits(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False).logits


@pytest.mark.parametrize("method", PEFT_LIB)
def test_adapter_trains_saves_and_opens_with_peft_alone(method, trained, tiny_model_dir):
    run = trained(method)
    manifest = json.loads((run.out / "lmforge.json").read_text())
    assert manifest["kind"] == "adapter"
    assert manifest["config"]["peft"]["method"] == method
    assert set(manifest["inputs"]) == {"model", "data"}
    assert (run.out / "adapter_model.safetensors").is_file()
    assert (run.out / "tokenizer.json").is_file() and not (run.out / "checkpoints").exists()

    base, tokenizer = load_model(tiny_model_dir)
    reopened = PeftModel.from_pretrained(base, run.out).eval()
    ids = _ids(tokenizer)
    assert torch.allclose(_logits(reopened, ids), _logits(run.model, ids), atol=1e-5)


@pytest.mark.parametrize("method", PEFT_LIB)
def test_only_adapter_weights_change(method, trained, tiny_model_dir, chats_file):
    run = trained(method)
    base, _ = load_model(tiny_model_dir)
    torch.manual_seed(0)  # the run's seed: the adapters start where the run's started
    start = build_method(method).prepare(base)
    before = dict(start.named_parameters())
    changed = frozen_changed = 0
    for name, p in run.model.named_parameters():
        moved = not torch.equal(p.detach(), before[name].detach())
        changed += moved and p.requires_grad
        frozen_changed += moved and not p.requires_grad
    assert changed > 0 and frozen_changed == 0
    assert run.metrics["final_loss"] == run.metrics["final_loss"]  # not NaN


@pytest.mark.parametrize("method", PEFT_LIB)
def test_trainable_counts_equal_peft_own(method, tiny_model_dir):
    built = build_method(method)
    counts = built.counts(built.prepare(load_model(tiny_model_dir)[0]))
    base = load_model(tiny_model_dir)[0]
    trainable, total = get_peft_model(base, built.peft_config(base)).get_nb_trainable_parameters()
    assert (counts["trainable_parameters"], counts["total_parameters"]) == (trainable, total)
    assert counts["trainable_percent"] == pytest.approx(100 * trainable / total, abs=1e-3)


def test_trainable_counts_of_own_methods(tiny_model_dir):
    base = load_model(tiny_model_dir)[0]
    n_base = sum(p.numel() for p in base.parameters())
    h, layers, vocab = (
        base.config.hidden_size,
        base.config.num_hidden_layers,
        base.config.vocab_size,
    )
    adapter = 2 * h * 16 + 16 + h  # down (h*16 + 16) and up (16*h + h), --adapter-size 16
    expected = {
        "none": (n_base, n_base),
        "head-only": (vocab * h, n_base + vocab * h),  # the tied head becomes its own matrix
        "bottleneck": (2 * layers * adapter, n_base + 2 * layers * adapter),  # houlsby: 2/layer
    }
    for method, (trainable, total) in expected.items():
        built = build_method(method)
        counts = built.counts(built.prepare(load_model(tiny_model_dir)[0]))
        assert (counts["trainable_parameters"], counts["total_parameters"]) == (trainable, total)


def test_lora_loss_falls_and_manifest_counts(trained):
    run = trained("lora")
    log = [json.loads(x) for x in (run.out / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"]
    metrics = json.loads((run.out / "lmforge.json").read_text())["metrics"]
    trainable, total = run.model.get_nb_trainable_parameters()
    assert (metrics["trainable_parameters"], metrics["total_parameters"]) == (trainable, total)
    assert metrics["trainable_percent"] == pytest.approx(100 * trainable / total, abs=1e-3)
