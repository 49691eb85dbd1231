"""`lmforge model init`, `lmforge pretrain`, `lmforge sft`, `lmforge inspect template`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli import options as o

model_app = typer.Typer(help="Create models.")
inspect_app = typer.Typer(help="Look inside: what a training example looks like to the model.")

PRETRAIN_DEFAULTS = {"epochs": 1.0, "lr": 1e-3, "seq_len": 256}
SFT_DEFAULTS = {"epochs": 3.0, "lr": 5e-4, "seq_len": 256, "warmup_steps": 5}


@model_app.command("init")
def init(
    tokenizer: Annotated[Path, typer.Option("--tokenizer", "-t", help="Tokenizer directory.")],
    out: o.Out,
    size: Annotated[str, typer.Option(help="tiny | small | base | large.")] = "small",
    seed: Annotated[int, typer.Option(help="Seed of the random initialisation.")] = 0,
    overwrite: o.Overwrite = False,
) -> None:
    """Build a Llama-architecture model from a config (random weights) for a tokenizer."""
    from lmforge.models.init import init_model

    metrics = init_model(tokenizer, out, size=size, seed=seed, overwrite=overwrite)
    rprint(f"[green]Model written to[/] {out} ({metrics['parameters']:,} parameters)")


def _training_command(run_name: str, defaults: dict, help_text: str):
    """A CLI command for a training stage; every stage takes the same training options."""

    def command(
        model: o.ModelDir,
        data: o.DataPaths,
        out: o.Out,
        steps: o.Steps = None,
        epochs: o.Epochs = None,
        lr: o.Lr = None,
        batch_size: o.BatchSize = None,
        grad_accum: o.GradAccum = None,
        seq_len: o.SeqLen = None,
        seed: o.Seed = None,
        config: o.ConfigFile = None,
        set_: o.Sets = None,
        overwrite: o.Overwrite = False,
    ) -> None:
        module = importlib.import_module(f"lmforge.train.{run_name}")
        cfg = o.train_config(
            config, set_, defaults, max_steps=steps, epochs=epochs, lr=lr,
            micro_batch_size=batch_size, grad_accum=grad_accum, seq_len=seq_len, seed=seed,
        )  # fmt: skip
        metrics = getattr(module, run_name)(model, data, out, cfg, overwrite=overwrite)
        rprint(
            f"[green]Done:[/] {metrics['steps']} steps, final loss {metrics['final_loss']:.4f}, "
            f"{metrics['tokens_per_s']:,.0f} tokens/s. Model written to {out}"
        )

    command.__doc__ = help_text
    return command


pretrain = _training_command(
    "pretrain",
    PRETRAIN_DEFAULTS,
    'Pretrain on `{"text": ...}` JSONL (next-token loss, packed rows). Resumes if killed.',
)
sft = _training_command(
    "sft",
    SFT_DEFAULTS,
    'Fine-tune on chat records `{"messages": [...]}`; loss on the assistant\'s tokens only.',
)


@inspect_app.command("template")
def template(
    model: o.ModelDir,
    data: o.DataPaths,
    index: Annotated[int, typer.Option(help="Which record to show.")] = 0,
) -> None:
    """Render one chat record with the model's template; trained tokens are highlighted."""
    from lmforge.train.inspect_template import show_template

    show_template(model, data, index)
