"""`lmforge quickstart`: the whole lifecycle on the lab world, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def quickstart(
    workdir: Annotated[
        Path, typer.Option(help="Directory for every artifact and the report.")
    ] = Path("quickstart"),
    size: Annotated[
        str, typer.Option(help="tiny (a smoke test) or small (the real run).")
    ] = "small",
    seed: Annotated[int, typer.Option(help="Seed of the lab world and of training.")] = 0,
) -> None:
    """Lab world → curation → tokenizer → pretrain → SFT → eval before/after → report."""
    from lmforge.quickstart import run_quickstart

    run_quickstart(workdir, size=size, seed=seed)
