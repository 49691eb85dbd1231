"""`lmforge model init`, `pretrain`, `sft` (with `--peft`), `merge`, `inspect template`,
`reward`, `align` and `plan` (docs/finetuning.md)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint

from lmforge.cli import options as o

model_app = typer.Typer(help="Create models.")
inspect_app = typer.Typer(help="Look inside: what a training example looks like to the model.")

PRETRAIN_DEFAULTS = {"epochs": 1.0, "lr": 1e-3, "seq_len": 256}
SFT_DEFAULTS = {"epochs": 3.0, "lr": 5e-4, "seq_len": 256, "warmup_steps": 5}
ALIGN_DEFAULTS = {"epochs": 1.0, "lr": 5e-5, "seq_len": 256, "warmup_steps": 5, "weight_decay": 0.0}
REWARD_DEFAULTS = {"epochs": 1.0, "lr": 1e-4, "seq_len": 256, "warmup_steps": 5}


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
    _say(f"[green]Model written to[/] {out} ({metrics['parameters']:,} parameters)")


def _say(*text) -> None:
    """Print once: under a multi-process launch only the first process speaks."""
    if os.environ.get("RANK", "0") == "0":
        rprint(*text)


def _train(run_name: str, defaults: dict, model, data, out, overwrite, flags, **kwargs) -> dict:
    module = importlib.import_module(f"lmforge.train.{run_name}")
    cfg = o.train_config(flags.pop("config"), flags.pop("set_"), defaults, **flags)
    metrics = getattr(module, run_name)(model, data, out, cfg, overwrite=overwrite, **kwargs)
    _say(
        f"[green]Done:[/] {metrics['steps']} steps, final loss {metrics['final_loss']:.4f}, "
        f"{metrics['tokens_per_s']:,.0f} tokens/s. Written to {out}"
    )
    return metrics


def _flags(steps, epochs, lr, batch_size, grad_accum, seq_len, seed, config, set_) -> dict:
    return dict(
        max_steps=steps, epochs=epochs, lr=lr, micro_batch_size=batch_size,
        grad_accum=grad_accum, seq_len=seq_len, seed=seed, config=config, set_=set_,
    )  # fmt: skip


def pretrain(
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
    """Pretrain on `{"text": ...}` JSONL (next-token loss, packed rows). Resumes if killed."""
    flags = _flags(steps, epochs, lr, batch_size, grad_accum, seq_len, seed, config, set_)
    _train("pretrain", PRETRAIN_DEFAULTS, model, data, out, overwrite, flags)


def sft(
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
    peft: o.Peft = "none",
    lora_r: o.LoraR = 8,
    lora_alpha: o.LoraAlpha = 16,
    lora_dropout: o.LoraDropout = 0.05,
    target_modules: o.TargetModules = None,
    rslora: o.RsLora = False,
    num_virtual_tokens: o.NumVirtualTokens = 8,
    adapter_size: o.AdapterSize = 16,
    adapter_style: o.AdapterStyle = "houlsby",
    non_linearity: o.NonLinearity = "relu",
) -> None:
    """Fine-tune on chat records `{"messages": [...]}`; loss on the assistant's tokens only.

    --peft picks which parameters train (default: all); adapters are saved in peft's format.
    """
    options = o.peft_options(
        method=peft, lora_r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
        target_modules=target_modules, rslora=rslora, num_virtual_tokens=num_virtual_tokens,
        adapter_size=adapter_size, adapter_style=adapter_style, non_linearity=non_linearity,
    )  # fmt: skip
    flags = _flags(steps, epochs, lr, batch_size, grad_accum, seq_len, seed, config, set_)
    metrics = _train("sft", SFT_DEFAULTS, model, data, out, overwrite, flags, peft=options)
    _say(
        f"--peft {peft}: {metrics['trainable_parameters']:,} of "
        f"{metrics['total_parameters']:,} parameters trained "
        f"({metrics['trainable_percent']:.2f}%)"
    )


def merge(
    model: o.ModelDir,
    adapter: Annotated[
        Path, typer.Option("--adapter", "-a", help="Adapter directory (`sft --peft` output).")
    ],
    out: o.Out,
    overwrite: o.Overwrite = False,
) -> None:
    """Merge a LoRA, DoRA or IA3 adapter into its base model: a plain Hugging Face model."""
    from lmforge.train.merge import merge as merge_adapter

    metrics = merge_adapter(model, adapter, out, overwrite=overwrite)
    _say(f"[green]Merged[/] {metrics['method']} adapter into {model}: written to {out}")


@inspect_app.command("template")
def template(
    model: o.ModelDir,
    data: o.DataPaths,
    index: Annotated[int, typer.Option(help="Which record to show.")] = 0,
) -> None:
    """Render one chat record with the model's template; trained tokens are highlighted."""
    from lmforge.train.inspect_template import show_template

    show_template(model, data, index)


def reward(
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
    """Train a reward model on preference pairs {"prompt", "chosen", "rejected"} (Bradley–Terry).

    --batch-size counts pairs. The result loads with AutoModelForSequenceClassification.
    """
    from lmforge.train.reward import train_reward

    flags = _flags(steps, epochs, lr, batch_size, grad_accum, seq_len, seed, config, set_)
    cfg = o.train_config(flags.pop("config"), flags.pop("set_"), REWARD_DEFAULTS, **flags)
    metrics = train_reward(model, data, out, cfg, overwrite=overwrite)
    accuracy = metrics.get("held_out_reward_accuracy")
    held = f", held-out pairwise accuracy {accuracy:.3f}" if accuracy is not None else ""
    _say(f"[green]Done:[/] {metrics['steps']} steps{held}. Written to {out}")


def align(
    model: o.ModelDir,
    data: o.DataPaths,
    out: o.Out,
    method: Annotated[
        str, typer.Option("--method", help="dpo | ipo | kto | orpo | simpo | grpo | ppo.")
    ] = "dpo",
    beta: Annotated[
        float | None,
        typer.Option(help="β (ORPO: λ). Default 0.1; SimPO 2.0."),
    ] = None,
    gamma: Annotated[float, typer.Option(help="SimPO's target margin γ.")] = 0.5,
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
    peft: o.Peft = "none",
    lora_r: o.LoraR = 8,
    lora_alpha: o.LoraAlpha = 16,
    lora_dropout: o.LoraDropout = 0.05,
    target_modules: o.TargetModules = None,
    reward: o.Reward = None,
    reward_fn: o.RewardFn = None,
    group_size: o.GroupSize = None,
    max_new_tokens: o.MaxNewTokens = 64,
    temperature: o.SampleTemperature = 1.0,
    kl_beta: o.KlBeta = None,
) -> None:
    """Align a model to preference pairs (DPO, IPO, KTO, ORPO, SimPO) or by online RL (GRPO, PPO).

    Records: {"prompt", "chosen", "rejected"}; --batch-size counts pairs. DPO, IPO and KTO
    use the starting model as the frozen reference. grpo/ppo: records {"prompt"} (or chat
    "messages", or the lab's arith {"question", "answer"}), --reward or --reward-fn;
    --batch-size counts prompts.
    """
    from lmforge.train.align import align as run_align

    options = None
    if peft != "none":
        options = o.peft_options(
            method=peft, lora_r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
            target_modules=target_modules,
        )  # fmt: skip
    flags = _flags(steps, epochs, lr, batch_size, grad_accum, seq_len, seed, config, set_)
    cfg = o.train_config(flags.pop("config"), flags.pop("set_"), ALIGN_DEFAULTS, **flags)
    metrics = run_align(
        model, data, out, cfg, method=method, beta=beta, gamma=gamma, overwrite=overwrite,
        peft=options, reward=reward, reward_fn=reward_fn, group_size=group_size,
        max_new_tokens=max_new_tokens, temperature=temperature, kl_beta=kl_beta,
    )  # fmt: skip
    accuracy = metrics.get("held_out_reward_accuracy")
    held = f", held-out reward accuracy {accuracy:.3f}" if accuracy is not None else ""
    if "held_out_reward" in metrics:  # online RL: mean reward of greedy held-out completions
        held = f", held-out reward {metrics['held_out_reward']:.3f}"
    _say(
        f"[green]Done:[/] {method}, {metrics['steps']} steps, final loss "
        f"{metrics['final_loss']:.4f}{held}. Written to {out}"
    )


def plan(
    model: o.ModelDir,
    peft: o.Peft = "none",
    batch: Annotated[int, typer.Option("--batch", help="Rows per micro-batch.")] = 8,
    seq: Annotated[int, typer.Option("--seq", help="Tokens per row.")] = 1024,
    precision: Annotated[str, typer.Option(help="fp32 | bf16 | fp16 activations.")] = "fp32",
) -> None:
    """Predict peak training memory (weights, gradients, AdamW, activations); loads no weights."""
    from rich.table import Table

    from lmforge.models.plan import BYTES, human, plan_memory

    if precision not in BYTES:
        raise typer.BadParameter(f"--precision must be one of {', '.join(BYTES)}.")
    result = plan_memory(model, peft=peft, batch=batch, seq=seq, precision=precision)
    table = Table(title=f"{model}: --peft {peft}, batch {batch} × {seq} tokens, {precision}")
    for column in ("part", "memory", "what"):
        table.add_column(column)
    for name, size, what in result.rows():
        table.add_row(name, human(size), what)
    _say(table)
