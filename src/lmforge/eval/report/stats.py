"""Bootstrap confidence intervals for a mean over examples, and for a paired difference.

Percentile bootstrap (Efron & Tibshirani, 1993): resample the examples with replacement
`resamples` times (seeded, so a report is reproducible), take the mean each time, and read
the (1 − level)/2 and (1 + level)/2 quantiles. For two runs on the same examples the paired
version resamples example ids, which keeps the per-example correlation and gives a much
tighter interval for the difference than two separate intervals would suggest.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95


def bootstrap_ci(
    values: list[float], resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL
) -> tuple[float, float] | None:
    """(low, high) of the mean of `values`; None for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[picks].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def paired_difference_ci(
    a: list[float], b: list[float], resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL
) -> tuple[float, float] | None:
    """Interval of mean(b) − mean(a) over the same examples (a[i] and b[i] pair up)."""
    if len(a) != len(b):
        raise ValueError("paired values must have the same length")
    return bootstrap_ci([y - x for x, y in zip(a, b, strict=True)], resamples, seed, level)
