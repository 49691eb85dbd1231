"""`lmforge eval --model openai/<model>`: the same scores over the HTTP API as in-process.

Multiple choice goes through /v1/completions with echo + logprobs (lm-eval's
local-completions way), generation through the backend's batched calls.

Run: OMP_NUM_THREADS=1 pytest tests/serve/test_eval_over_api.py
"""

from __future__ import annotations

import json

import pytest
from serve_support import running

from lmforge.errors import LmforgeError
from lmforge.eval.run import evaluate
from lmforge.serve import create_app

TASKS = ["lab-mc", "lab-qa"]


def test_scores_over_the_api_equal_local_scores(tiny_model_dir, tiny_lab, tmp_path, monkeypatch):
    local = evaluate(tiny_model_dir, TASKS, tmp_path / "local", data=tiny_lab, limit=6,
                     chat_template="off", show_progress=False)  # fmt: skip
    app = create_app(tiny_model_dir, model_id="tiny", embedder=None, threads=1)
    with running(app) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "unused")
        remote = evaluate("openai/tiny", TASKS, tmp_path / "out", data=tiny_lab, limit=6,
                          chat_template="off", show_progress=False)  # fmt: skip
    for task in TASKS:
        assert remote["tasks"][task]["metrics"] == local["tasks"][task]["metrics"]
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").open()]
    wanted = [json.loads(line) for line in (tmp_path / "local" / "samples.jsonl").open()]
    assert {s["task"] for s in samples} == set(TASKS) and len(samples) == len(wanted) == 12
    for got, want in zip(samples, wanted, strict=True):
        assert got.get("output") == want.get("output")
        assert got.get("logliks", []) == pytest.approx(want.get("logliks", []), abs=1e-4)
    assert json.loads((tmp_path / "out" / "results.json").read_text())["model"] == "openai/tiny"


def test_chat_scoring_of_multiple_choice_over_an_api_is_refused(tiny_lab):
    with pytest.raises(LmforgeError, match="--chat-template off"):
        evaluate("openai/tiny", ["lab-mc"], data=tiny_lab, chat_template="on")
