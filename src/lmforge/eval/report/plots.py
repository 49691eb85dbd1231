"""Plots for the HTML report, drawn with matplotlib as SVG and inlined as data URIs.

A data URI keeps report.html one self-contained file (no CDN, no side files), and each SVG
stays its own document, so the element ids matplotlib writes cannot clash between plots.
"""

from __future__ import annotations

import base64
import io

from lmforge.eval.report.tables import Cell, lower_is_better


def task_plot(task: str, metrics: list[str], cells: dict[str, list[Cell | None]],
              run_names: list[str], chance: float | None) -> str:  # fmt: skip
    """An <img> of one bar chart per metric: a bar per run with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": task}):
        fig, axes = plt.subplots(
            1, len(metrics), figsize=(1.2 + 0.9 * len(run_names) * len(metrics) + 1.5, 2.8),
            squeeze=False,
        )  # fmt: skip
        for ax, metric in zip(axes[0], metrics, strict=True):
            _bars(ax, metric, cells[metric], run_names, chance)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return f'<img class="plot" alt="{task} metrics" src="data:image/svg+xml;base64,{data}">'


def _bars(ax, metric: str, cells: list[Cell | None], names: list[str], chance: float | None):
    xs, heights, errors = [], [], [[], []]
    for x, c in enumerate(cells):
        if c is None or c.value is None:
            continue
        xs.append(x)
        heights.append(c.value)
        low, high = c.ci if c.ci is not None else (c.value, c.value)
        errors[0].append(max(0.0, c.value - low))
        errors[1].append(max(0.0, high - c.value))
    ax.bar(xs, heights, yerr=errors, capsize=4, color="#4c78a8")
    if chance is not None and not lower_is_better(metric):
        ax.axhline(chance, ls="--", lw=1, color="#e45756", label="chance")
        ax.legend(fontsize=7, loc="best")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=7)
    ax.set_title(metric, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
