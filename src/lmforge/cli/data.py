"""`lmforge data ...`: data curation (curate with a recipe, redact PII, deduplicate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli.options import Out, Overwrite

app = typer.Typer(help="Curate a corpus: filter, deduplicate, and report what was dropped and why.")

Inputs = Annotated[
    list[Path], typer.Option("--input", "-i", help="JSONL file or directory; repeatable.")
]


@app.command("curate")
def curate(
    inputs: Inputs,
    out: Out,
    recipe: Annotated[
        Path | None,
        typer.Option("--recipe", "-r", help="YAML recipe (see recipes/data/); default: basic."),
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Curate with a recipe; without one: boilerplate lines, junk and exact duplicates removed."""
    from lmforge.data.curate import curate as run_curate
    from lmforge.data.curate import curate_basic
    from lmforge.data.recipe import load_recipe

    if recipe is None:
        stats = curate_basic(inputs, out, overwrite=overwrite)
    else:
        loaded = load_recipe(recipe)
        stats = run_curate(inputs, out, loaded.steps, overwrite, recipe=loaded.describe())
    _done(out, stats)


@app.command("pii")
def pii(inputs: Inputs, out: Out, overwrite: Overwrite = False) -> None:
    """Redact emails, phones, IPs, cards, Korean ID numbers and secrets with typed placeholders."""
    from lmforge.data.curate import curate as run_curate
    from lmforge.data.pii import PiiRedactor

    _done(out, run_curate(inputs, out, [PiiRedactor()], overwrite))


@app.command("dedup")
def dedup(
    inputs: Inputs,
    out: Out,
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity that makes a duplicate.")
    ] = 0.8,
    shingle: Annotated[str, typer.Option(help="word:N or char:N shingles.")] = "word:5",
    hangul_shingle: Annotated[
        str | None, typer.Option(help="Shingles for mostly-Hangul documents, e.g. char:5.")
    ] = None,
    num_perm: Annotated[int, typer.Option(help="MinHash hash functions.")] = 128,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check candidates with exact Jaccard.")
    ] = False,
    overwrite: Overwrite = False,
) -> None:
    """Drop near duplicates with MinHash-LSH; the first document of each cluster is kept."""
    from lmforge.data.curate import curate as run_curate
    from lmforge.data.dedup import MinHashDedup
    from lmforge.errors import LmforgeError

    try:
        step = MinHashDedup(
            threshold=threshold,
            shingle=shingle,
            hangul_shingle=hangul_shingle,
            num_perm=num_perm,
            verify=verify,
        )
    except ValueError as e:
        raise LmforgeError(str(e), "See `lmforge data dedup --help`.") from None
    _done(out, run_curate(inputs, out, [step], overwrite))


def _done(out: Path, stats: dict) -> None:
    rprint(f"[green]Curated corpus written to[/] {out} (report: {out / 'report.md'})")
    rprint(stats)
