"""`lmforge lab generate`: write the built-in lab world."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli.options import Out, Overwrite

app = typer.Typer(
    help="The built-in lab world: a deterministic fictional world in English and Korean."
)


@app.command("generate")
def generate(
    out: Out,
    seed: Annotated[int, typer.Option(help="Same seed, byte-identical world.")] = 0,
    langs: Annotated[str, typer.Option(help="Comma-separated languages: en, ko.")] = "en,ko",
    size: Annotated[str, typer.Option(help="tiny | small | medium.")] = "small",
    overwrite: Overwrite = False,
) -> None:
    """Write the lab world: raw text with planted noise, SFT, preferences, eval, arithmetic, RAG."""
    from lmforge.lab.generate import generate_lab

    langs_tuple = tuple(langs.split(","))
    summary = generate_lab(out, seed=seed, langs=langs_tuple, size=size, overwrite=overwrite)
    rprint(f"[green]Lab world written to[/] {out}")
    rprint(summary)
