"""Writing reports: `write_report` renders report.html + summary.md for any results
directories; `compare_runs` (`lmforge eval compare`) makes a comparison artifact of them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmforge.eval.report.html import render_html
from lmforge.eval.report.load import Run, load_runs
from lmforge.eval.report.markdown import render_markdown
from lmforge.eval.report.tables import best, differences, grid
from lmforge.runs import prepare_out_dir, write_manifest


def write_report(
    dirs: list[Path], out: Path, title: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """report.html and summary.md in `out` (which must exist); returns the comparison data."""
    runs = load_runs([Path(d) for d in dirs])
    return _write(runs, Path(out), title, seed)


def compare_runs(
    dirs: list[Path], out: Path, title: str | None = None, overwrite: bool = False, seed: int = 0
) -> dict[str, Any]:
    """A comparison artifact: report.html, summary.md, comparison.json and the manifest."""
    runs = load_runs([Path(d) for d in dirs])  # checked before `out` is touched
    out = prepare_out_dir(out, overwrite=overwrite)
    data = _write(runs, out, title or f"Comparison of {len(runs)} runs", seed)
    tmp = out / ".comparison.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out / "comparison.json")
    inputs = {f"run:{run.name}": run.path for run in runs}
    write_manifest(out, "eval-compare", {"runs": [r.name for r in runs], "seed": seed}, inputs,
                   {"best": data["best"]})  # fmt: skip
    return data


def _write(runs: list[Run], out: Path, title: str | None, seed: int) -> dict[str, Any]:
    cells = grid(runs, seed)
    diffs = differences(runs, seed) if len(runs) > 1 else {}
    title = title or f"Evaluation report: {runs[0].name}"
    for name, text in (
        ("report.html", render_html(runs, cells, diffs, title)),
        ("summary.md", render_markdown(runs, cells, diffs, title)),
    ):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out / name)
    return _data(runs, cells, diffs)


def _data(runs: list[Run], cells: dict, diffs: dict) -> dict[str, Any]:
    """The report's numbers as JSON: per task/metric each run's value, interval and n."""
    table = {}
    for (task, metric), row in cells.items():
        table.setdefault(task, {})[metric] = {
            run.name: asdict(c) if c is not None else None for run, c in zip(runs, row, strict=True)
        }
    leaders = {
        f"{task}/{metric}": [runs[i].name for i in sorted(best(metric, row))]
        for (task, metric), row in cells.items()
    }
    deltas = {
        f"{task}/{metric}": {
            run.name: asdict(d) if d is not None else None
            for run, d in zip(runs[1:], row, strict=True)
        }
        for (task, metric), row in diffs.items()
    }
    return {"runs": {r.name: str(r.path) for r in runs}, "table": table, "best": leaders,
            "differences": deltas}  # fmt: skip
