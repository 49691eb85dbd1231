"""report.html: one self-contained page (inline CSS, JS and SVG plots) for one or more runs.

Sections: the runs; a leaderboard across runs (best value in bold) and each run's paired
difference from the first; per task, its metrics with bootstrap 95% intervals, a plot, the
scores per language and a per-sample browser (worst examples first, collapsible, filterable).
Every text that comes from data is HTML-escaped: prompts and model outputs are shown, never run.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from lmforge.eval.report.load import Run, TaskRun
from lmforge.eval.report.plots import task_plot
from lmforge.eval.report.tables import (
    Cell,
    Difference,
    best,
    columns,
    lower_is_better,
    worst_first,
)

MAX_SAMPLES = 200  # per run and task: the worst ones, which are the ones worth reading
SHOWN_FIRST = (
    "question",
    "context",
    "reference",
    "answer",
    "answer_a",
    "answer_b",
    "prompt",
    "target",
    "choices",
    "logliks",
    "output",
    "prediction",
    "verdict",
    "scores",
)
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ci{color:#666;font-size:.85em}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;margin:0}
details.sample{border:1px solid #ddd;margin:.2em 0;padding:.2em .5em}.bad{color:#c0392b}
.good{color:#27ae60}summary{cursor:pointer}dt{font-weight:600;margin-top:.4em}.plot{max-width:100%}
"""
SCRIPT = """
function filterSamples(box){const q=box.value.toLowerCase();
for(const d of box.parentElement.querySelectorAll('details.sample')){
d.style.display=d.textContent.toLowerCase().includes(q)?'':'none';}}
"""


def render_html(runs: list[Run], cells: dict, diffs: dict, title: str) -> str:
    body = [f"<h1>{escape(title)}</h1>", _runs_table(runs)]
    if len(runs) > 1:
        body += ["<h2>Leaderboard</h2>", _leaderboard(runs, cells)]
        body += [f"<h2>Difference from {escape(runs[0].name)}</h2>", _differences(runs, diffs)]
    for task in dict.fromkeys(name for name, _ in columns(runs)):
        body.append(_task_section(task, runs, cells))
    body.append(
        "<p class='ci'>Intervals: percentile bootstrap over examples, 1000 resamples, seed 0, "
        "95%; differences resample the examples both runs share (paired).</p>"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table; cells are HTML already (callers escape data)."""
    top = "".join(f"<th>{h}</th>" for h in head)
    lines = ["<tr>" + "".join(r) + "</tr>" for r in rows]
    return f"<table><tr>{top}</tr>" + "".join(lines) + "</table>"


def _num(text: str, bold: bool = False) -> str:
    return f"<td class='num'>{'<strong>' + text + '</strong>' if bold else text}</td>"


def _runs_table(runs: list[Run]) -> str:
    rows = [[f"<td>{escape(x)}</td>" for x in (r.name, r.kind, r.model, str(r.path),
             r.created or "–")] for r in runs]  # fmt: skip
    return _table(["run", "kind", "model / judge", "directory", "created"], rows)


def _metric_head(task: str, metric: str) -> str:
    arrow = "↓" if lower_is_better(metric) else "↑"
    return f"{escape(task)}<br>{escape(metric)} {arrow}"


def _leaderboard(runs: list[Run], cells: dict) -> str:
    keys = list(cells)
    winners = {key: best(key[1], cells[key]) for key in keys}
    rows = []
    for i, run in enumerate(runs):
        row = [f"<td>{escape(run.name)}</td>"]
        for key in keys:
            c: Cell | None = cells[key][i]
            text = "–" if c is None else f"{fmt(c.value)}<br><span class='ci'>{fmt_ci(c.ci)}</span>"
            row.append(_num(text, i in winners[key]))
        rows.append(row)
    return _table(["run", *(_metric_head(t, m) for t, m in keys)], rows)


def _differences(runs: list[Run], diffs: dict) -> str:
    rows = []
    for (task, metric), row in diffs.items():
        for run, d in zip(runs[1:], row, strict=True):
            d: Difference | None
            cells = [escape(task), escape(metric), escape(run.name)]
            line = [f"<td>{c}</td>" for c in cells]
            if d is None:
                line += [_num("–"), _num("–"), _num("0")]
            else:
                line += [_num(f"{d.value:+.3f}"), _num(fmt_ci(d.ci)), _num(str(d.n))]
            rows.append(line)
    return _table(["task", "metric", "run", "Δ mean", "95% CI", "shared examples"], rows)


def _task_section(task: str, runs: list[Run], cells: dict) -> str:
    metrics = [m for t, m in cells if t == task]
    found = [r.tasks.get(task) for r in runs]
    chance = next((t.chance for t in found if t is not None and t.chance is not None), None)
    rows = []
    for metric in metrics:
        for run, c in zip(runs, cells[(task, metric)], strict=True):
            if c is not None:
                rows.append([f"<td>{escape(metric)}</td>", f"<td>{escape(run.name)}</td>",
                             _num(fmt(c.value)), _num(fmt_ci(c.ci)), _num(str(c.n)),
                             _num(fmt(chance))])  # fmt: skip
    parts = [f"<h2 id='task-{escape(task)}'>Task {escape(task)}</h2>"]
    parts.append(_table(["metric", "run", "value", "95% CI", "n", "chance"], rows))
    names = [r.name for r in runs]
    parts.append(task_plot(task, metrics, {m: cells[(task, m)] for m in metrics}, names, chance))
    parts.append(_languages(task, runs, found))
    for run, t in zip(runs, found, strict=True):
        if t is not None and t.samples:
            parts.append(_browser(run, t))
    return "\n".join(parts)


def _languages(task: str, runs: list[Run], found: list[TaskRun | None]) -> str:
    rows = []
    for run, t in zip(runs, found, strict=True):
        for lang, metrics in sorted((t.by_lang if t is not None else {}).items()):
            for metric, value in metrics.items():
                rows.append([f"<td>{escape(run.name)}</td>", f"<td>{escape(lang)}</td>",
                             f"<td>{escape(metric)}</td>", _num(fmt(value))])  # fmt: skip
    if not rows:
        return ""
    return f"<h3>{escape(task)} by language</h3>" + _table(["run", "language", "metric", "score"],
                                                             rows)  # fmt: skip


def _browser(run: Run, task: TaskRun) -> str:
    ordered = worst_first(task)
    shown = ordered[:MAX_SAMPLES]
    note = f"{len(shown)} of {len(ordered)}, worst first"
    items = "\n".join(_sample(s) for s in shown)
    return (
        f"<details><summary><strong>Samples of {escape(run.name)}</strong> ({note})</summary>"
        "<div><input type='search' placeholder='filter samples' oninput='filterSamples(this)'>"
        f"\n{items}</div></details>"
    )


def _sample(sample: dict[str, Any]) -> str:
    correct = sample.get("correct")
    mark = {True: "<span class='good'>✓</span>", False: "<span class='bad'>✗</span>"}
    scores = sample.get("scores") or {}
    brief = ", ".join(f"{k} {fmt(v) if isinstance(v, int | float) else escape(str(v))}"
                      for k, v in scores.items())  # fmt: skip
    said = str(sample.get("prediction", sample.get("verdict", "")))[:80]
    head = " · ".join(escape(str(x)) for x in (sample.get("id"), sample.get("lang")) if x)
    summary = f"{mark.get(correct, '')} {head} · {escape(said)} <span class='ci'>{brief}</span>"
    keys = [k for k in SHOWN_FIRST if k in sample]
    keys += [k for k in sample if k not in keys and k not in ("id", "lang", "task", "correct")]
    fields = "".join(f"<dt>{escape(k)}</dt><dd><pre>{escape(_text(sample[k]))}</pre></dd>"
                     for k in keys)  # fmt: skip
    return f"<details class='sample'><summary>{summary}</summary><dl>{fields}</dl></details>"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, ensure_ascii=False)
