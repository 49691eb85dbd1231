"""`evaluate`: a tuned model scores what it was taught, the untrained one does not; outputs."""

from __future__ import annotations

import json
import shutil

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval import evaluate
from lmforge.eval.prompts import prompt_for, resolve_chat_template
from lmforge.jsonl import read_jsonl
from lmforge.models.io import load_tokenizer
from lmforge.runs import MANIFEST, read_manifest

TASKS = ["lab-qa", "lab-mc", "lab-arith"]


@pytest.fixture(scope="module")
def tuned(sft_model, lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "tuned"
    return out, evaluate(sft_model, TASKS, out, data=lab, show_progress=False)


@pytest.fixture(scope="module")
def untrained(base_model, lab):
    return evaluate(base_model, TASKS, None, data=lab, show_progress=False)


def test_the_tuned_model_answers_what_it_was_taught(tuned, untrained):
    _, results = tuned
    assert results["chat_template"] is True  # auto: the manifest says sft
    qa = results["tasks"]["lab-qa"]
    assert qa["metrics"]["exact_match"] == 1.0
    assert qa["by_lang"] == {"en": {"exact_match": 1.0}, "ko": {"exact_match": 1.0}}
    assert results["tasks"]["lab-arith"]["metrics"]["exact_match"] == 1.0
    assert untrained["chat_template"] is False  # a freshly initialised model
    assert untrained["tasks"]["lab-qa"]["metrics"]["exact_match"] < 1.0
    assert untrained["tasks"]["lab-arith"]["metrics"]["exact_match"] < 1.0


def test_multiple_choice_accuracy(tuned, untrained):
    _, results = tuned
    mc = results["tasks"]["lab-mc"]
    assert (mc["kind"], mc["n"], mc["chance"]) == ("multiple_choice", 4, 0.25)
    assert mc["metrics"]["acc"] == 1.0
    assert set(mc["metrics"]) == {"acc", "acc_norm"}
    assert set(mc["by_lang"]) == {"en", "ko"}
    assert untrained["tasks"]["lab-mc"]["metrics"]["acc"] < 1.0


def test_results_samples_and_manifest_are_written(tuned, sft_model, lab):
    out, results = tuned
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == results
    samples = read_jsonl(out / "samples.jsonl")
    assert len(samples) == sum(t["n"] for t in results["tasks"].values())
    qa = next(s for s in samples if s["task"] == "lab-qa" and s["lang"] == "ko")
    assert qa["prompt"].endswith("<|im_start|>assistant:") and "수출품" in qa["prompt"]
    assert qa["prediction"] == qa["target"] and qa["correct"] is True
    mc = next(s for s in samples if s["task"] == "lab-mc")
    assert len(mc["logliks"]) == len(mc["choices"]) == 4
    assert mc["correct"] == (mc["prediction"] == mc["target"])
    manifest = read_manifest(out)
    assert manifest["kind"] == "eval"
    assert set(manifest["inputs"]) == {"model", "data"}
    assert (out / manifest["inputs"]["model"]["path"]).resolve() == sft_model.resolve()
    assert (out / manifest["inputs"]["data"]["path"]).resolve() == lab.resolve()
    assert manifest["metrics"]["lab-qa"] == {"exact_match": 1.0}
    with pytest.raises(LmforgeError, match="--overwrite"):
        evaluate(sft_model, ["lab-qa"], out, data=lab, show_progress=False)


def test_generation_lengths(tuned):
    _, results = tuned
    assert results["tasks"]["lab-qa"]["max_new_tokens"] == 16
    assert results["tasks"]["lab-arith"]["max_new_tokens"] == 256  # room for a scratchpad


def test_on_the_real_lab_world(base_model, real_lab):
    results = evaluate(base_model, TASKS, data=real_lab, limit=2, show_progress=False)
    for name in TASKS:
        task = results["tasks"][name]
        assert task["n"] == 2
        assert 0 <= min(task["metrics"].values()) <= max(task["metrics"].values()) <= 1
    assert 0 < results["tasks"]["lab-qa"]["chance"] < 1


def test_chat_template_off_and_limit(sft_model, lab, tmp_path):
    results = evaluate(
        sft_model, ["lab-qa"], tmp_path / "off", lab, "off", limit=2, show_progress=False
    )
    assert results["chat_template"] is False
    assert results["tasks"]["lab-qa"]["n"] == 2
    samples = read_jsonl(tmp_path / "off" / "samples.jsonl")
    assert samples[0]["prompt"].startswith("Question: ") and samples[0]["prompt"].endswith(
        "\nAnswer:"
    )


def test_a_jsonl_task_file_is_recorded_as_an_input(sft_model, lab, tmp_path):
    task = tmp_path / "quiz.jsonl"
    shutil.copy(lab / "eval" / "mc.jsonl", task)
    results = evaluate(sft_model, [str(task)], tmp_path / "out", show_progress=False)
    assert results["tasks"]["quiz"]["metrics"]["acc"] == 1.0
    assert set(read_manifest(tmp_path / "out")["inputs"]) == {"model", "task:quiz"}


def test_chat_template_auto_without_manifest(base_model, tmp_path):
    tokenizer = load_tokenizer(base_model)
    assert resolve_chat_template("auto", base_model, tokenizer)[0] is False  # kind "model"
    bare = tmp_path / "bare"
    shutil.copytree(base_model, bare)
    (bare / MANIFEST).unlink()
    chat, why = resolve_chat_template("auto", bare, tokenizer)
    assert chat is True and "chat template" in why
    tokenizer.chat_template = None
    assert resolve_chat_template("auto", bare, tokenizer)[0] is False
    with pytest.raises(LmforgeError, match="no chat template"):
        resolve_chat_template("on", bare, tokenizer)


def test_chat_prompt_renders_the_template(base_model):
    tokenizer = load_tokenizer(base_model)
    example = {"question": "What is the main export of Kamori?"}
    chat = prompt_for(example, "generate", True, tokenizer)
    assert "<|im_start|>user: What is the main export of Kamori?<|im_end|>" in chat
    assert chat.endswith("<|im_start|>assistant:")
    assert prompt_for(example, "multiple_choice", False, tokenizer) == (
        "Question: What is the main export of Kamori?\nAnswer:"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tasks": []}, "no tasks"),
        ({"batch_size": 0}, "batch size"),
        ({"limit": 0}, "limit"),
        ({"chat_template": "maybe"}, "auto, on or off"),
        ({"tasks": ["nope"]}, "unknown task 'nope'"),
    ],
)
def test_bad_options(base_model, lab, options, message):
    kwargs = {"tasks": ["lab-qa"], "data": lab, "show_progress": False, **options}
    with pytest.raises(LmforgeError, match=message):
        evaluate(base_model, out=None, **kwargs)


def test_missing_lab_dir(base_model, tmp_path):
    with pytest.raises(LmforgeError, match="lmforge lab generate --out"):
        evaluate(base_model, ["lab-mc"], data=tmp_path / "nowhere", show_progress=False)
