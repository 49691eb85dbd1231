"""`lmforge tokenizer train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli.options import Out, Overwrite

app = typer.Typer(help="Tokenizers: byte-level BPE with special tokens and a chat template.")


@app.command("train")
def train(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="JSONL corpus (file or directory); repeatable."),
    ],
    out: Out,
    vocab_size: Annotated[
        int, typer.Option(help="Vocabulary size, special tokens included.")
    ] = 4096,
    overwrite: Overwrite = False,
) -> None:
    """Train a byte-level BPE tokenizer on the `text` field of JSONL records."""
    from lmforge.tokenizer.train import train_tokenizer

    metrics = train_tokenizer(inputs, out, vocab_size=vocab_size, overwrite=overwrite)
    rprint(f"[green]Tokenizer written to[/] {out}")
    rprint(metrics)
