"""Options shared by several subcommands, each declared once with its help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from lmforge.errors import LmforgeError
from lmforge.train.config import TrainConfig

Out = Annotated[Path, typer.Option("--out", "-o", help="Directory to write the artifact to.")]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace a finished artifact already in --out.")
]
ModelDir = Annotated[
    Path, typer.Option("--model", "-m", help="Model directory (Hugging Face format).")
]
DataPaths = Annotated[
    list[Path], typer.Option("--data", "-d", help="JSONL file or directory; repeat for several.")
]
Steps = Annotated[int | None, typer.Option("--steps", help="Optimizer steps.")]
Epochs = Annotated[
    float | None, typer.Option("--epochs", help="Passes over the data (if no --steps).")
]
Lr = Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", help="Rows per micro-batch.")]
GradAccum = Annotated[int | None, typer.Option("--grad-accum", help="Micro-batches per step.")]
SeqLen = Annotated[int | None, typer.Option("--seq-len", help="Tokens per packed row.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Seed for data order and init.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file of training settings (TrainConfig fields)."),
]
Sets = Annotated[
    list[str] | None, typer.Option("--set", help="Override one setting: --set warmup_steps=20.")
]


def train_config(
    config_file: Path | None,
    sets: list[str] | None,
    defaults: dict,
    **flags,
) -> TrainConfig:
    """TrainConfig from defaults < YAML file < --set overrides < explicit flags."""
    values = dict(defaults)
    if config_file is not None:
        if not config_file.is_file():
            raise LmforgeError(f"config file {config_file} does not exist.")
        loaded = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise LmforgeError(f"{config_file} must be a mapping of setting: value.")
        values |= loaded
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise LmforgeError(f"--set {item!r} is not key=value.", "Write e.g. --set lr=3e-4.")
        values[key.strip()] = yaml.safe_load(raw)
    values |= {k: v for k, v in flags.items() if v is not None}
    try:
        return TrainConfig(**values)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'config'}: {err['msg']}" for err in e.errors()
        )
        raise LmforgeError(f"invalid training settings: {problems}.") from None


# Online RL (`lmforge align --method grpo|ppo`); see docs/finetuning.md.
Reward = Annotated[
    Path | None,
    typer.Option("--reward", help="grpo/ppo: reward-model directory (`lmforge reward`)."),
]
RewardFn = Annotated[
    str | None,
    typer.Option("--reward-fn", help="grpo/ppo: reward function, lab.arithmetic or module.fn."),
]
GroupSize = Annotated[
    int | None, typer.Option("--group-size", help="grpo/ppo: samples per prompt (4 / 1).")
]
MaxNewTokens = Annotated[
    int, typer.Option("--max-new-tokens", help="grpo/ppo: longest sampled completion.")
]
SampleTemperature = Annotated[
    float, typer.Option("--temperature", help="grpo/ppo: sampling temperature (> 0).")
]
KlBeta = Annotated[
    float | None,
    typer.Option("--kl-beta", help="grpo/ppo: weight of the KL to the reference (0.04 / 0.05)."),
]

# Parameter-efficient fine-tuning (`lmforge sft --peft ...`); see docs/finetuning.md.
Peft = Annotated[
    str,
    typer.Option(
        "--peft",
        help="Which parameters train: none | lora | dora | ia3 | prefix | prompt | ptuning | "
        "llama-adapter | bottleneck | qlora | head-only.",
    ),
]
LoraR = Annotated[int, typer.Option("--lora-r", help="LoRA/DoRA/QLoRA rank.")]
LoraAlpha = Annotated[int, typer.Option("--lora-alpha", help="LoRA scale: alpha / r.")]
LoraDropout = Annotated[float, typer.Option("--lora-dropout", help="Dropout on LoRA's input.")]
TargetModules = Annotated[
    str | None,
    typer.Option(
        "--target-modules",
        help="Comma list of module names to adapt (default: attention and MLP projections).",
    ),
]
RsLora = Annotated[bool, typer.Option("--rslora", help="Rank-stabilised LoRA: alpha / sqrt(r).")]
NumVirtualTokens = Annotated[
    int,
    typer.Option("--num-virtual-tokens", help="Length of prefix/prompt/p-tuning/llama-adapter."),
]
AdapterSize = Annotated[int, typer.Option("--adapter-size", help="Bottleneck adapter width.")]
AdapterStyle = Annotated[
    str,
    typer.Option(
        "--adapter-style", help="houlsby (after attention and MLP) | pfeiffer (after MLP)."
    ),
]
NonLinearity = Annotated[
    str, typer.Option("--non-linearity", help="Bottleneck activation: relu | gelu | silu | tanh.")
]


def peft_options(target_modules: str | None = None, **values):
    """PeftOptions from CLI values, with invalid ones reported as one sentence."""
    from lmforge.train.methods import PeftOptions

    if target_modules is not None:
        values["target_modules"] = [t.strip() for t in target_modules.split(",") if t.strip()]
    try:
        return PeftOptions(**values)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()
        )
        raise LmforgeError(f"invalid fine-tuning settings: {problems}.") from None
