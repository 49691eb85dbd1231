"""`lmforge eval`: score a model on tasks; `eval <subcommand>` for judging, comparing and more.

`lmforge eval --model M --tasks a,b` runs the group's callback (no subcommand); each further
command (judge, compare, contamination, ...) registers itself on `app` in this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lmforge.cli.options import Overwrite
from lmforge.errors import LmforgeError

app = typer.Typer(
    help="Evaluate a model on tasks, or judge, compare and check results (subcommands).",
    invoke_without_command=True,
)


@app.callback()
def eval_command(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model directory to evaluate.")
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--tasks",
            "--task",
            "-t",
            help="lab-qa, lab-mc, lab-arith or a .jsonl file; repeat or comma-separate.",
        ),
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Lab world directory for lab tasks.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write results here.")] = None,
    chat_template: Annotated[str, typer.Option(help="auto | on | off.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Evaluate: exact match on short answers, log-likelihood accuracy on multiple choice."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None or not task:
        raise LmforgeError("lmforge eval needs --model and --tasks.", "See lmforge eval --help.")
    task = [name.strip() for item in task for name in item.split(",") if name.strip()]
    from lmforge.eval.run import evaluate

    results = evaluate(
        model, task, out, data=data, chat_template=chat_template, batch_size=batch_size,
        limit=limit, overwrite=overwrite,
    )  # fmt: skip
    table = Table(title=f"{model} (chat template {'on' if results['chat_template'] else 'off'})")
    for column in ("task", "n", "metric", "score", "chance"):
        table.add_column(column)
    for name, result in results["tasks"].items():
        for metric, value in result["metrics"].items():
            table.add_row(name, str(result["n"]), metric, f"{value:.3f}", f"{result['chance']:.3f}")
    Console().print(table)
