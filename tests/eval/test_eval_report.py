"""Reports: report.html and summary.md from real `lmforge eval --out` runs of a tiny model,
bootstrap intervals, escaping of sample text, and `lmforge eval compare` of two runs."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval import evaluate
from lmforge.eval.judge import judge_answers
from lmforge.eval.report import compare_runs, write_report
from lmforge.eval.report.stats import bootstrap_ci, paired_difference_ci
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.runs import read_manifest
from support import run_cli

NASTY = "Is <script>alert('x')</script> & <b>bold</b> safe?"


@pytest.fixture(scope="module")
def runs(base_model, sft_model, lab, tmp_path_factory) -> tuple[Path, Path]:
    """An untrained and a tuned model on real tasks: the tuned one knows lab-qa's answers, so
    the mixed task holds right and wrong answers, and its HTML-like question must be escaped."""
    root = tmp_path_factory.mktemp("report")
    mixed = [*read_jsonl(lab / "eval" / "qa.jsonl"), {"id": "nasty", "question": NASTY,
             "answer": "<b>yes</b>"}]  # fmt: skip
    write_jsonl(root / "mixed.jsonl", mixed)
    tasks = ["lab-qa", "lab-mc", str(root / "mixed.jsonl")]
    for name, model in (("base", base_model), ("tuned", sft_model)):
        evaluate(model, tasks, root / name, data=lab, show_progress=False)
    return root / "base", root / "tuned"


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    low, high = bootstrap_ci(values)
    assert bootstrap_ci(values) == (low, high)  # seed 0: the same report twice
    assert low < sum(values) / len(values) < high and low >= 0.0 and high <= 1.0
    assert bootstrap_ci(values, seed=1) != (low, high)
    assert bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert bootstrap_ci([1.0]) is None
    # pairing: a constant improvement of 1 has a zero-width interval
    assert paired_difference_ci([0.0, 1.0, 0.0, 1.0], [1.0, 2.0, 1.0, 2.0]) == (1.0, 1.0)


def test_eval_out_writes_a_self_contained_report(runs):
    _, tuned = runs
    page = (tuned / "report.html").read_text(encoding="utf-8")
    results = json.loads((tuned / "results.json").read_text(encoding="utf-8"))
    samples = read_jsonl(tuned / "samples.jsonl")
    for task, r in results["tasks"].items():
        assert f"Task {task}" in page
        for metric, value in r["metrics"].items():
            low, high = bootstrap_ci([s["scores"][metric] for s in samples if s["task"] == task])
            # the row of the task's table: metric, run, value, interval, n, chance
            row = (
                f"<td>{metric}</td><td>tuned</td><td class='num'>{value:.3f}</td>"
                f"<td class='num'>[{low:.3f}, {high:.3f}]</td><td class='num'>{r['n']}</td>"
            )
            assert row in page  # fmt: skip
    mixed = results["tasks"]["mixed"]["metrics"]["exact_match"]
    assert 0 < mixed < 1  # right and wrong answers: the interval has width
    assert page.count('<img class="plot"') == 3 and "data:image/svg+xml;base64," in page
    assert "<link" not in page and not re.search(r"src=['\"]http", page)  # no CDN, no files
    summary = (tuned / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Evaluation report: tuned")
    assert f"| mixed | exact_match ↑ | {mixed:.3f} [" in summary
    assert read_manifest(tuned) is not None  # the report was written before the manifest


def test_sample_text_is_escaped_and_worst_examples_come_first(runs):
    _, tuned = runs
    page = (tuned / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b>bold</b>" not in page and "<b>yes" not in page
    assert escape(NASTY) in page  # shown, as text
    section = page[page.index("Samples of tuned</strong>", page.index("Task mixed")) :]
    section = section[: section.index("</details></div></details>")]
    marks = re.findall(r"<details class='sample'><summary><span class='(good|bad)'>", section)
    assert len(marks) == len(read_jsonl(tuned.parent / "mixed.jsonl"))
    assert "bad" in marks and "good" in marks and marks == sorted(marks)  # wrong ones first
    assert marks.count("bad") == sum(
        not s["correct"] for s in read_jsonl(tuned / "samples.jsonl") if s["task"] == "mixed"
    )


def test_compare_two_runs(runs, tmp_path, capsys):
    base, tuned = runs
    out = tmp_path / "compare"
    code, printed = run_cli(capsys, "eval", "compare", str(base), str(tuned), "--out", str(out))
    assert code == 0, printed
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    results = {p.name: json.loads((p / "results.json").read_text()) for p in (base, tuned)}
    assert results["tuned"]["tasks"]["lab-qa"]["metrics"]["exact_match"] == 1.0
    assert results["base"]["tasks"]["lab-qa"]["metrics"]["exact_match"] < 1.0
    assert data["best"]["lab-qa/exact_match"] == ["tuned"]
    for task in ("lab-qa", "lab-mc", "mixed"):
        for metric in results["base"]["tasks"][task]["metrics"]:
            values = {n: r["tasks"][task]["metrics"][metric] for n, r in results.items()}
            delta = data["differences"][f"{task}/{metric}"]["tuned"]
            assert delta["value"] == pytest.approx(values["tuned"] - values["base"])
            assert delta["n"] == results["base"]["tasks"][task]["n"]
            cells = data["table"][task][metric]
            assert cells["base"]["value"] == values["base"]
            assert cells["tuned"]["value"] == values["tuned"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Leaderboard</h2>" in page and "Difference from base" in page
    board = page[page.index("<h2>Leaderboard</h2>") : page.index("<h2>Difference")]
    assert "<tr><td>tuned</td><td class='num'><strong>1.000<br>" in board  # lab-qa, bold
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| task | metric | base | tuned |" in summary and summary in printed
    assert "| lab-qa | exact_match ↑ | " in summary and "| **1.000 [1.000, 1.000]** |" in summary
    manifest = read_manifest(out)
    assert manifest["kind"] == "eval-compare"
    assert set(manifest["inputs"]) == {"run:base", "run:tuned"}


def test_report_command_and_bad_directories(runs, tmp_path, capsys):
    base, tuned = runs
    target = tmp_path / "again"
    code, printed = run_cli(capsys, "eval", "report", str(tuned), "--out", str(target))
    assert code == 0, printed
    page = (target / "report.html").read_text(encoding="utf-8")
    created = read_manifest(tuned)["created"]
    assert created in page  # now the run's manifest is there to read
    assert page.replace(created, "–") == (tuned / "report.html").read_text(encoding="utf-8")
    code, printed = run_cli(capsys, "eval", "report", str(base), str(tuned))
    assert code != 0 and "--out" in printed
    with pytest.raises(LmforgeError, match="holds no evaluation results"):
        compare_runs([base, tmp_path], tmp_path / "never")
    assert not (tmp_path / "never").exists()  # checked before anything is written
    with pytest.raises(LmforgeError, match="does not exist"):
        write_report([tmp_path / "missing"], tmp_path)


def test_judge_directories_report_and_compare(tmp_path):
    items = [{"id": f"q{n}", "question": f"Q{n}?", "answer": f"A{n}."} for n in range(4)]
    write_jsonl(tmp_path / "answers.jsonl", items)
    dirs = []
    for name, replies in (("strict", ["2", "3", "nope", "2"]), ("kind", ["5", "4", "4", "5"])):
        backend = ScriptedBackend(["steps", *replies], capabilities={"completion"})
        judge_answers("scripted", tmp_path / "answers.jsonl", tmp_path / name, ["coherence"],
                      samples=1, backend=backend, show_progress=False)  # fmt: skip
        dirs.append(tmp_path / name)
    data = compare_runs(dirs, tmp_path / "cmp")
    strict = data["table"]["judge"]["coherence"]["strict"]
    assert strict["value"] == pytest.approx(7 / 3) and strict["n"] == 3  # "nope" is unparsed
    assert strict["ci"] == bootstrap_ci([2.0, 3.0, 2.0])
    assert data["best"]["judge/coherence"] == ["kind"]
    delta = data["differences"]["judge/coherence"]["kind"]
    assert delta["n"] == 3 and delta["value"] == pytest.approx((5 + 4 + 5 - 7) / 3)
    page = (tmp_path / "cmp" / "report.html").read_text(encoding="utf-8")
    assert "Task judge" in page and "Samples of strict" in page
    # the unscored item leads strict's browser
    browser = page[page.index("Samples of strict") :]
    assert browser.index("q2 ·") < browser.index("q0 ·")
