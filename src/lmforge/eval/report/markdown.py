"""summary.md: the leaderboard as a Markdown table (value and 95% interval, best in bold) and
the differences from the first run, short enough to paste into a pull request."""

from __future__ import annotations

from lmforge.eval.report.html import fmt, fmt_ci
from lmforge.eval.report.load import Run
from lmforge.eval.report.tables import best, lower_is_better


def render_markdown(runs: list[Run], cells: dict, diffs: dict, title: str) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- `{_md(r.name)}`: {r.kind} of `{_md(r.model)}`" for r in runs]
    lines += ["", "| task | metric | " + " | ".join(_md(r.name) for r in runs) + " |"]
    lines.append("|---|---|" + "---|" * len(runs))
    for (task, metric), row in cells.items():
        winners = best(metric, row)
        values = []
        for i, c in enumerate(row):
            text = "–" if c is None else f"{fmt(c.value)} {fmt_ci(c.ci)}"
            values.append(f"**{text}**" if i in winners else text)
        arrow = "↓" if lower_is_better(metric) else "↑"
        lines.append(f"| {_md(task)} | {_md(metric)} {arrow} | " + " | ".join(values) + " |")
    if len(runs) > 1:
        lines += ["", f"Difference from `{_md(runs[0].name)}` (paired over shared examples):", ""]
        lines += ["| task | metric | run | Δ | 95% CI | n |", "|---|---|---|---|---|---|"]
        for (task, metric), row in diffs.items():
            for run, d in zip(runs[1:], row, strict=True):
                if d is not None:
                    lines.append(f"| {_md(task)} | {_md(metric)} | {_md(run.name)} | "
                                 f"{d.value:+.3f} | {fmt_ci(d.ci)} | {d.n} |")  # fmt: skip
    lines += ["", "Intervals: bootstrap over examples (1000 resamples, seed 0, 95%). "
              "Plots and the worst examples: report.html.", ""]  # fmt: skip
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
