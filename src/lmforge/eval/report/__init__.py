"""Evaluation reports: report.html (self-contained) and summary.md from results directories.

    from lmforge.eval.report import write_report, compare_runs
    write_report([Path("results/run1")], Path("results/run1"))  # as `lmforge eval --out`
    compare_runs([Path("results/run1"), Path("results/run2")], Path("results/compare"))

`compare_runs` is `lmforge eval compare`: it also writes comparison.json and a manifest.
"""

from lmforge.eval.report.build import compare_runs, write_report

__all__ = ["compare_runs", "write_report"]
