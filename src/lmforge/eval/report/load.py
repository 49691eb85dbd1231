"""Reading finished results directories into one shape the report can draw.

An `lmforge eval --out` directory holds results.json (per task: metrics, n, chance, by_lang)
and samples.jsonl (per example: task, id, prompt, prediction, `scores` per metric). An
`lmforge eval judge --out` directory holds summary.json and judgments.jsonl; it reads as one
task, "judge", whose metrics are the criteria (or the pairwise win rates). The manifest, when
there is one, adds when the run was made.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.jsonl import iter_jsonl
from lmforge.runs import read_manifest


@dataclass
class TaskRun:
    """One task of one run: reported metrics and the per-example samples behind them."""

    name: str
    kind: str
    n: int
    metrics: dict[str, float | None]
    chance: float | None = None
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def values(self, metric: str) -> list[float] | None:
        """The per-example values whose mean is the metric, or None when it is not a mean."""
        found = [_number((s.get("scores") or {}).get(metric)) for s in self.samples]
        values = [v for v in found if v is not None]
        reported = self.metrics.get(metric)
        if not values or reported is None:
            return None
        mean = sum(values) / len(values)
        return values if abs(mean - reported) <= 1e-6 * max(1.0, abs(reported)) else None

    def by_id(self, metric: str) -> dict[str, float]:
        """{example id: value} for the samples that have the metric."""
        found = {}
        for s in self.samples:
            value = _number((s.get("scores") or {}).get(metric))
            if value is not None:
                found[str(s.get("id"))] = value
        return found


@dataclass
class Run:
    name: str
    path: Path
    kind: str  # "eval" or "judge"
    model: str
    created: str | None
    tasks: dict[str, TaskRun]


def load_runs(paths: list[Path]) -> list[Run]:
    """Every run, named by its directory (with its parent's name when two names clash)."""
    if not paths:
        raise LmforgeError("no results directories given.", "Name one or more --out directories.")
    runs = [load_run(Path(p)) for p in paths]
    names = [r.name for r in runs]
    for run in runs:
        if names.count(run.name) > 1:
            run.name = f"{run.path.resolve().parent.name}/{run.path.name}"
    if len({r.name for r in runs}) < len(runs):
        raise LmforgeError("the same results directory is given twice.", "Name each once.")
    return runs


def load_run(path: Path) -> Run:
    if not path.is_dir():
        raise LmforgeError(f"results directory {path} does not exist.", "Check the path.")
    created = (read_manifest(path) or {}).get("created")
    if (path / "results.json").is_file():
        results = _read_json(path / "results.json")
        if isinstance(results.get("tasks"), dict):
            return Run(path.name, path, "eval", str(results.get("model", "?")), created,
                       _eval_tasks(path, results))  # fmt: skip
    if (path / "summary.json").is_file() and (path / "judgments.jsonl").is_file():
        summary = _read_json(path / "summary.json")
        return Run(path.name, path, "judge", str(summary.get("judge", "?")), created,
                   {"judge": _judge_task(path, summary)})  # fmt: skip
    raise LmforgeError(
        f"{path} holds no evaluation results (results.json from `lmforge eval --out`, or "
        "summary.json + judgments.jsonl from `lmforge eval judge --out`).",
        "Name a finished results directory.",
    )


def _eval_tasks(path: Path, results: dict[str, Any]) -> dict[str, TaskRun]:
    samples: dict[str, list[dict[str, Any]]] = {}
    if (path / "samples.jsonl").is_file():
        for sample in iter_jsonl(path / "samples.jsonl"):
            samples.setdefault(str(sample.get("task")), []).append(sample)
    tasks = {}
    for name, r in results["tasks"].items():
        metrics = {m: _number(v) for m, v in (r.get("metrics") or {}).items()}
        tasks[name] = TaskRun(
            name, str(r.get("kind", "?")), int(r.get("n", 0)), metrics, _number(r.get("chance")),
            r.get("by_lang") or {}, samples.get(name, []),
        )  # fmt: skip
    return tasks


def _judge_task(path: Path, summary: dict[str, Any]) -> TaskRun:
    judgments = list(iter_jsonl(path / "judgments.jsonl"))
    if summary.get("kind") == "pairwise":
        metrics = {k: _number(summary.get(k)) for k in ("win_rate_a", "win_rate_b", "tie_rate")}
        samples = [_pairwise_sample(j) for j in judgments]
    else:
        metrics = {c: _number(s.get("mean")) for c, s in (summary.get("scores") or {}).items()}
        samples = [{**j, "scores": j.get("scores") or {}} for j in judgments]
    return TaskRun("judge", str(summary.get("kind")), len(judgments), metrics, None, {}, samples)


def _pairwise_sample(judgment: dict[str, Any]) -> dict[str, Any]:
    verdict = judgment.get("verdict")
    scores = {}
    if verdict is not None:  # indicators whose means are the win and tie rates
        scores = {"win_rate_a": float(verdict == "A"), "win_rate_b": float(verdict == "B"),
                  "tie_rate": float(verdict == "tie")}  # fmt: skip
    return {**judgment, "scores": scores}


def _number(value: Any) -> float | None:
    """A finite number, or None (missing, text, NaN: nothing to average or rank)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LmforgeError(f"{path} is not valid JSON ({e.msg}, line {e.lineno}).") from None
    if not isinstance(data, dict):
        raise LmforgeError(f"{path} does not hold a JSON object.")
    return data
