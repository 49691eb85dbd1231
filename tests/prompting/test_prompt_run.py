"""`lmforge prompt run|render`: results, traces and manifest; the exact prompt of a model."""

from __future__ import annotations

import json

from lmforge.cli import main
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.prompting.run import run_prompting
from lmforge.runs import read_manifest
from support import single_thread


def lab(tmp_path):
    """A minimal lab directory holding only what lab-arith reads."""
    write_jsonl(tmp_path / "lab/arith/test.jsonl", [
        {"id": "t0", "lang": "en", "question": "What is 12 + 30?", "answer": "42"},
        {"id": "t1", "lang": "en", "question": "What is 50 - 8?", "answer": "42"},
    ])  # fmt: skip
    write_jsonl(tmp_path / "lab/arith/train.jsonl", [
        {"question": "What is 1 + 2?", "answer": "3", "scratchpad": "ones: 1 + 2 = 3\nAnswer: 3"},
    ])  # fmt: skip
    return tmp_path / "lab"


def test_run_scores_and_writes_traces(tmp_path):
    backend = ScriptedBackend(["Answer: 42", "no answer here"])
    results = run_prompting(
        "scripted", "lab-arith", tmp_path / "out", "fewshot-cot", data=lab(tmp_path),
        shots=1, backend=backend, mode="completion",
    )  # fmt: skip
    assert results["metrics"]["accuracy"] == 0.5 and results["metrics"]["unparsed"] == 0.5
    traces = read_jsonl(tmp_path / "out/traces.jsonl")
    assert [t["correct"] for t in traces] == [True, False] and traces[1]["answer"] is None
    assert "Answer: ones: 1 + 2 = 3" in traces[0]["steps"][0]["prompt"]
    assert read_manifest(tmp_path / "out")["kind"] == "prompt-run"
    assert json.loads((tmp_path / "out/results.json").read_text())["strategy"] == "fewshot-cot"


def test_render_prints_the_exact_prompt_of_a_model(tmp_path, tiny_model_dir, capsys):
    data = lab(tmp_path)
    with single_thread():
        main(["prompt", "render", "--model", str(tiny_model_dir), "--task", "lab-arith",
              "--data", str(data), "--shots", "1", "--strategy", "fewshot-cot", "--index", "1",
              "--mode", "completion"])  # fmt: skip
    out = capsys.readouterr().out
    assert out == (
        "Question: What is 1 + 2?\nAnswer: ones: 1 + 2 = 3\nAnswer: 3\n\n"
        "Question: What is 50 - 8?\nAnswer:\n"
    )
