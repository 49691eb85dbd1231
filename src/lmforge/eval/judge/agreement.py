"""How far a judge agrees with human labels: Spearman's ρ and Kendall's τ-b for scores,
accuracy for pairwise verdicts.

Correlations come from scipy when it is installed; otherwise from the small implementations
here (average ranks for ties; τ-b's tie correction), which give the same numbers. A constant
series has no correlation: the value is None rather than NaN. Items the judge could not score
(unparsed) are left out and counted; so are labelled items that were not judged.

Gold files are JSONL: {"id", "<criterion>": score, ...} (or {"id", "scores": {...}}) for
scores; {"id", "winner": "A" | "B" | "tie"} for pairwise verdicts.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.jsonl import read_jsonl

WINNERS = {"a": "A", "b": "B", "tie": "tie", "c": "tie"}


def spearman(x: list[float], y: list[float]) -> float | None:
    if _constant(x) or _constant(y):
        return None
    try:
        from scipy.stats import spearmanr
    except ImportError:
        return _spearman(x, y)
    return _finite(spearmanr(x, y).statistic)


def kendall_tau_b(x: list[float], y: list[float]) -> float | None:
    if _constant(x) or _constant(y):
        return None
    try:
        from scipy.stats import kendalltau
    except ImportError:
        return _kendall_tau_b(x, y)
    return _finite(kendalltau(x, y, variant="b").statistic)


def _constant(values: list[float]) -> bool:
    """Too few distinct values to rank (also when there are fewer than two values)."""
    return len(set(values)) < 2


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def ranks(values: list[float]) -> list[float]:
    """1-based ranks; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            out[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return out


def _spearman(x: list[float], y: list[float]) -> float | None:
    """Pearson's correlation of the ranks."""
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else None


def _kendall_tau_b(x: list[float], y: list[float]) -> float | None:
    """(concordant − discordant) / sqrt((n0 − ties in x)(n0 − ties in y)), all pairs."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                ties_x, ties_y = ties_x + 1, ties_y + 1
            elif dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    n0 = len(x) * (len(x) - 1) // 2
    denominator = math.sqrt((n0 - ties_x) * (n0 - ties_y))
    return (concordant - discordant) / denominator if denominator > 0 else None


def score_agreement(judged: dict[str, float | None], gold: dict[str, float]) -> dict[str, Any]:
    """Correlation of the judge's scores with the gold scores on the items both have."""
    shared = [i for i in gold if i in judged and judged[i] is not None]
    x = [float(judged[i]) for i in shared]  # type: ignore[arg-type]
    y = [float(gold[i]) for i in shared]
    return {
        "n": len(shared),
        "unparsed": sum(1 for i in gold if i in judged and judged[i] is None),
        "not_judged": sum(1 for i in gold if i not in judged),
        "spearman": spearman(x, y),
        "kendall_tau_b": kendall_tau_b(x, y),
    }


def verdict_agreement(judged: dict[str, str | None], gold: dict[str, str]) -> dict[str, Any]:
    """Accuracy of the judge's verdicts (A, B, tie), and on the items neither calls a tie."""
    shared = [i for i in gold if judged.get(i) is not None]
    decisive = [i for i in shared if gold[i] != "tie" and judged[i] != "tie"]
    hits = sum(judged[i] == gold[i] for i in shared)
    decisive_hits = sum(judged[i] == gold[i] for i in decisive)
    return {
        "n": len(shared),
        "unparsed": sum(1 for i in gold if i in judged and judged[i] is None),
        "not_judged": sum(1 for i in gold if i not in judged),
        "accuracy": hits / len(shared) if shared else None,
        "n_without_ties": len(decisive),
        "accuracy_without_ties": decisive_hits / len(decisive) if decisive else None,
    }


def load_gold(path: Path, criteria: list[str] | None, ids: set[str]) -> dict[str, dict]:
    """{id: {criterion: score}} (criteria given) or {id: {"winner": A|B|tie}} (pairwise).

    Checked before any judging: every id must be among the answers' `ids`, every label valid.
    """
    records = read_jsonl(path, required=("id",))
    gold: dict[str, dict] = {}
    for line, record in enumerate(records, 1):
        where = f"{path}: record {line} (id {record['id']!r})"
        key = str(record["id"])
        if key not in ids:
            raise LmforgeError(f"{where} is not among the answers judged.",
                               "Give gold labels only for ids in the answers file.")  # fmt: skip
        gold[key] = _scores(record, criteria, where) if criteria else _winner(record, where)
    if criteria and not any(gold.values()):
        raise LmforgeError(f"{path} labels none of the criteria {', '.join(criteria)}.",
                           'Write e.g. {"id": "q1", "coherence": 4}.')  # fmt: skip
    return gold


def _scores(record: dict[str, Any], criteria: list[str], where: str) -> dict[str, float]:
    source = record.get("scores", record)
    if not isinstance(source, dict):
        raise LmforgeError(f"{where}: 'scores' must be an object of criterion: score.")
    if len(criteria) == 1 and "score" in record and criteria[0] not in source:
        source = {criteria[0]: record["score"]}
    scores = {}
    for name in criteria:
        value = source.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LmforgeError(f"{where}: the score for {name} is {value!r}, not a number.")
        scores[name] = float(value)
    return scores


def _winner(record: dict[str, Any], where: str) -> dict[str, str]:
    winner = WINNERS.get(str(record.get("winner", "")).strip().lower())
    if winner is None:
        raise LmforgeError(f"{where}: 'winner' is {record.get('winner')!r}.",
                           'Use "A", "B" or "tie".')  # fmt: skip
    return {"winner": winner}
