"""`lmforge data ...`: data curation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli.options import Out, Overwrite

app = typer.Typer(help="Curate a corpus: filter, deduplicate, and report what was dropped and why.")


@app.command("curate")
def curate(
    inputs: Annotated[
        list[Path], typer.Option("--input", "-i", help="JSONL file or directory; repeatable.")
    ],
    out: Out,
    overwrite: Overwrite = False,
) -> None:
    """Basic curation: boilerplate lines, junk documents and exact duplicates removed."""
    from lmforge.data.curate import curate_basic

    stats = curate_basic(inputs, out, overwrite=overwrite)
    rprint(f"[green]Curated corpus written to[/] {out}")
    rprint(stats)
