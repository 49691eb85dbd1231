"""The numbers a report shows: each run's value per task and metric with a bootstrap 95%
interval, which run is best, paired differences against the first run, worst examples first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmforge.eval.report.load import Run, TaskRun
from lmforge.eval.report.stats import bootstrap_ci, paired_difference_ci

LOWER_IS_BETTER = ("perplexity", "loss", "bits_per", "unparsed", "error", "nll")


@dataclass
class Cell:
    value: float | None
    ci: tuple[float, float] | None  # bootstrap 95%, when the metric is a mean over examples
    n: int


@dataclass
class Difference:
    value: float  # mean(run) − mean(first run) on the examples both have
    ci: tuple[float, float] | None
    n: int


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def columns(runs: list[Run]) -> list[tuple[str, str]]:
    """(task, metric) pairs in the order they first appear across the runs."""
    seen: dict[tuple[str, str], None] = {}
    for run in runs:
        for task in run.tasks.values():
            seen |= {(task.name, m): None for m in task.metrics}
    return list(seen)


def cell(task: TaskRun | None, metric: str, seed: int = 0) -> Cell | None:
    if task is None or metric not in task.metrics:
        return None
    values = task.values(metric)
    ci = bootstrap_ci(values, seed=seed) if values is not None else None
    return Cell(task.metrics[metric], ci, len(values) if values is not None else task.n)


def grid(runs: list[Run], seed: int = 0) -> dict[tuple[str, str], list[Cell | None]]:
    """{(task, metric): one cell per run (None where the run lacks it)}."""
    return {
        (task, metric): [cell(run.tasks.get(task), metric, seed) for run in runs]
        for task, metric in columns(runs)
    }


def best(metric: str, cells: list[Cell | None]) -> set[int]:
    """Indices of the runs with the best value (several on a tie); none when all are equal."""
    values = {i: c.value for i, c in enumerate(cells) if c is not None and c.value is not None}
    if len(values) < 2:
        return set()
    top = (min if lower_is_better(metric) else max)(values.values())
    winners = {i for i, v in values.items() if v == top}
    return set() if len(winners) == len(values) else winners  # all equal: nobody is best


def differences(runs: list[Run], seed: int = 0) -> dict[tuple[str, str], list[Difference | None]]:
    """Per (task, metric): each later run against the first, paired over shared example ids."""
    found: dict[tuple[str, str], list[Difference | None]] = {}
    for task, metric in columns(runs):
        first = runs[0].tasks.get(task)
        base = first.by_id(metric) if first is not None and first.values(metric) else {}
        row: list[Difference | None] = []
        for run in runs[1:]:
            other = run.tasks.get(task)
            values = other.by_id(metric) if other is not None and other.values(metric) else {}
            shared = [i for i in base if i in values]
            if not shared:
                row.append(None)
                continue
            a, b = [base[i] for i in shared], [values[i] for i in shared]
            mean = (sum(b) - sum(a)) / len(shared)
            row.append(Difference(mean, paired_difference_ci(a, b, seed=seed), len(shared)))
        found[(task, metric)] = row
    return found


def worst_first(task: TaskRun) -> list[dict[str, Any]]:
    """Samples from the worst to the best on the task's first metric; unscored ones first.

    Among equals, multiple-choice samples whose right choice trails the most come first,
    so the most confidently wrong answers lead the list.
    """
    metric = next(iter(task.metrics), None)
    sign = -1.0 if metric is not None and lower_is_better(metric) else 1.0

    def key(sample: dict[str, Any]) -> tuple[int, float, float]:
        value = (sample.get("scores") or {}).get(metric) if metric else None
        if not isinstance(value, int | float):
            return (0, 0.0, 0.0)
        return (1, sign * float(value), _margin(sample))

    return sorted(task.samples, key=key)


def _margin(sample: dict[str, Any]) -> float:
    """Log-likelihood of the right choice minus the best other one (0 when not known)."""
    logliks, target = sample.get("logliks"), sample.get("target")
    if not isinstance(logliks, list) or not isinstance(target, int) or len(logliks) < 2:
        return 0.0
    if not 0 <= target < len(logliks):
        return 0.0
    others = [v for i, v in enumerate(logliks) if i != target]
    return float(logliks[target]) - float(max(others))
