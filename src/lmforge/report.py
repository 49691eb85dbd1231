"""The quickstart report: accuracy before and after SFT, loss curves, speed and time per stage."""

from __future__ import annotations

import json
from pathlib import Path

from lmforge.runs import read_manifest


def read_metrics_log(path: Path) -> list[dict]:
    file = path / "metrics.jsonl"
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]


def plot_losses(runs: dict[str, Path], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.6))
    for ax, (name, path) in zip(list(getattr(axes, "flat", [axes])), runs.items(), strict=True):
        log = read_metrics_log(path)
        ax.plot([r["step"] for r in log], [r["loss"] for r in log], label="train loss", lw=1)
        evals = [r for r in log if "eval_loss" in r]
        ax.plot(
            [r["step"] for r in evals], [r["eval_loss"] for r in evals], "o-", label="eval loss"
        )
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel("loss (nats/token)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _accuracy_rows(results: dict[str, dict]) -> list[str]:
    tasks = sorted({t for r in results.values() for t in r["tasks"]})
    rows = ["| task | metric | chance | " + " | ".join(results) + " |"]
    rows.append("|---|---|---|" + "---|" * len(results))
    for task in tasks:
        first = next(r["tasks"][task] for r in results.values() if task in r["tasks"])
        for metric in first["metrics"]:
            scores = [
                f"{r['tasks'][task]['metrics'][metric]:.3f}" if task in r["tasks"] else "–"
                for r in results.values()
            ]
            rows.append(
                f"| {task} | {metric} | {first['chance']:.3f} | " + " | ".join(scores) + " |"
            )
    return rows


def _language_rows(results: dict[str, dict]) -> list[str]:
    rows = ["| model | task | language | metric | score |", "|---|---|---|---|---|"]
    for model, result in results.items():
        for task, r in result["tasks"].items():
            for lang, metrics in sorted(r.get("by_lang", {}).items()):
                for metric, value in metrics.items():
                    rows.append(f"| {model} | {task} | {lang} | {metric} | {value:.3f} |")
    return rows


def write_report(
    workdir: Path, dirs: dict[str, Path], results: dict[str, dict], seconds: dict, size: str
) -> Path:
    plot = plot_losses({"pretrain": dirs["pretrained"], "sft": dirs["sft"]}, workdir / "loss.png")
    lines = [
        f"# lmforge quickstart report ({size})",
        "",
        "The lab world's held-out questions ask about facts that appear in the pretraining",
        "text but never in the SFT data. Chance is 1/#choices (multiple choice) or 1/#possible",
        "values of the asked attribute (short answer).",
        "",
        "## Accuracy on held-out lab questions",
        "",
        *_accuracy_rows(results),
        "",
        "### By language",
        "",
        *_language_rows(results),
        "",
        "## Training",
        "",
        f"![loss curves]({plot.name})",
        "",
        "| stage | steps | final loss | eval loss | tokens/s |",
        "|---|---|---|---|---|",
    ]
    for name in ("pretrained", "sft"):
        m = (read_manifest(dirs[name]) or {}).get("metrics", {})
        eval_loss = f"{m['eval_loss']:.3f}" if m.get("eval_loss") is not None else "–"
        lines.append(
            f"| {name} | {m.get('steps')} | {m.get('final_loss', float('nan')):.3f} | "
            f"{eval_loss} | {m.get('tokens_per_s', 0):,.0f} |"
        )
    lines += ["", "## Wall time per stage (this run)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {s:.1f} |" for name, s in seconds.items()]
    lines += [f"| **total** | {sum(seconds.values()):.1f} |", ""]
    lines += ["Stages finished by an earlier run were skipped and are not timed here.", ""]
    lines += [
        "## Next",
        "",
        f"- Chat with the tuned model: `lmforge chat --model {dirs['sft']}`",
        f"- Trace any artifact back to the raw data: `lmforge lineage {dirs['sft']}`",
        "",
    ]
    report = workdir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
