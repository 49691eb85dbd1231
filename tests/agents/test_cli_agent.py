"""`lmforge agent run` end to end: a tiny local model to a budget stop, and bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from lmforge.jsonl import read_jsonl
from support import run_cli, single_thread


@pytest.fixture(scope="module")
def long_context_model(tiny_model_dir, tmp_path_factory):
    """The tiny test model with room for a ReAct prompt: rotary positions have no weights, so
    a longer window is only a config change."""
    model = tmp_path_factory.mktemp("agent") / "tiny-2k"
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 2048}))
    return model


def test_agent_run_with_a_local_model_stops_at_its_budget(capsys, long_context_model, tmp_path):
    out = tmp_path / "run"
    with single_thread():
        code, printed = run_cli(
            capsys, "agent", "run", "What is 1234 + 4321?", "--model", str(long_context_model),
            "--tools", "calculator", "--max-steps", "2", "--step-tokens", "12", "--out", str(out),
        )  # fmt: skip
    assert code == 0, printed
    assert "Goal: What is 1234 + 4321?" in printed
    assert "[1] Observation: Error:" in printed and "[2] Observation:" in printed
    assert "Stopped: max-steps (steps 2, tokens" in printed
    assert "No answer: the run stopped at max-steps." in printed
    events = read_jsonl(out / "trace.jsonl")
    assert events[0]["kind"] == "goal" and events[0]["data"]["protocol"] == "react"
    assert events[-1] == {"kind": "stop", "text": "max-steps", "step": 2,
                          "data": {"steps": 2, "tokens": events[-1]["data"]["tokens"]}}  # fmt: skip
    assert 2 <= events[-1]["data"]["tokens"] <= 24
    result = json.loads((out / "result.json").read_text())
    assert result["stop_reason"] == "max-steps" and result["answer"] is None
    assert json.loads((out / "lmforge.json").read_text())["kind"] == "agent-run"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tools", "calculator,shell"], "unknown tool 'shell'"),
        (["--strategy", "tree"], "unknown strategy 'tree'"),
        (["--max-steps", "0"], "max-steps is 0"),
        (["--expect", "4"], "--expect only applies to --strategy reflexion"),
        (["--protocol", "xml"], "unknown protocol 'xml'"),
    ],
)
def test_bad_input_is_refused_before_any_model_loads(capsys, tmp_path, args, message):
    missing = tmp_path / "no-model"
    code, printed = run_cli(capsys, "agent", "run", "Goal", "--model", str(missing), *args)
    assert code == 1 and message in printed and "Traceback" not in printed


def test_a_missing_model_is_a_clear_error_and_out_is_untouched(capsys, tmp_path):
    out = tmp_path / "out"
    code, printed = run_cli(
        capsys, "agent", "run", "Goal", "--model", str(tmp_path / "nope"), "--out", str(out)
    )
    assert code == 1 and "neither a model directory nor a backend spec" in printed
    assert not out.exists()
