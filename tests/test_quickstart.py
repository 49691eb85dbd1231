"""The whole lifecycle end to end at the tiny size, its report and its lineage."""

from __future__ import annotations

import json

from lmforge.quickstart import run_quickstart


def _chain(node: dict) -> list[str]:
    kinds = [node["kind"]]
    while any(r in node["inputs"] for r in ("model", "tokenizer", "corpus", "raw")):
        role = next(r for r in ("model", "tokenizer", "corpus", "raw") if r in node["inputs"])
        node = node["inputs"][role]
        kinds.append(node["kind"])
    return kinds


def test_quickstart_tiny_end_to_end(tmp_path, capsys):
    workdir = tmp_path / "qs"
    report = run_quickstart(workdir, size="tiny")
    text = report.read_text(encoding="utf-8")
    for heading in (
        "Accuracy on held-out lab questions",
        "lab-qa",
        "lab-mc",
        "tokens/s",
        "Wall time",
    ):
        assert heading in text
    assert (workdir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "lmforge chat --model" in capsys.readouterr().out

    lineage = json.loads((workdir / "lineage.json").read_text())
    assert lineage["kind"] == "sft"
    model_chain = _chain(lineage)
    assert model_chain == ["sft", "pretrained", "model", "tokenizer", "curated", "lab"]
    assert lineage["inputs"]["data"]["kind"] == "lab"  # SFT data comes straight from the lab world
    results = json.loads((workdir / "eval-sft" / "results.json").read_text())
    assert set(results["tasks"]) == {"lab-qa", "lab-mc"}
    assert results["chat_template"] is True

    # a second run finds every stage finished and redoes nothing
    run_quickstart(workdir, size="tiny")
    assert capsys.readouterr().out.count("already done") == 8
