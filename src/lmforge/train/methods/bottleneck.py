"""Bottleneck adapters (Houlsby 2019; Pfeiffer 2020), written here: peft has none.

An adapter is `x + up(act(down(x)))` applied to a sublayer's output before the residual
add: after attention and after the MLP (Houlsby) or after the MLP only (Pfeiffer). `up` starts
at zero, so the adapted model starts out computing exactly the base model. Adapters are child
modules of the sublayer they follow (`...mlp.bottleneck`), applied by a forward hook, so the
base weights keep their names. Saved as `adapter_config.json` + `adapter_model.safetensors`;
`load_bottleneck(base, dir)` puts them back on a base model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lmforge.errors import LmforgeError
from lmforge.train.methods.base import Method, freeze_all

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
SUBLAYERS = {"houlsby": ("self_attn", "mlp"), "pfeiffer": ("mlp",)}
CONFIG, WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
KEY = "bottleneck"


class Bottleneck(nn.Module):
    def __init__(self, hidden: int, size: int, non_linearity: str):
        super().__init__()
        self.down = nn.Linear(hidden, size)
        self.act = ACTIVATIONS[non_linearity]()
        self.up = nn.Linear(size, hidden)
        nn.init.zeros_(self.up.weight)  # identity at the start: the base model, unchanged
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(self.down(x)))


def _after_sublayer(module: nn.Module, args, output):
    # attention returns (hidden, weights, ...); the MLP returns hidden states alone
    if isinstance(output, tuple):
        return (module.bottleneck(output[0]), *output[1:])
    return module.bottleneck(output)


def decoder_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if hasattr(m, "self_attn") and hasattr(m, "mlp")]


def add_bottlenecks(model: nn.Module, config: dict) -> nn.Module:
    layers = decoder_layers(model)
    if not layers:
        raise LmforgeError(
            f"{type(model).__name__} has no decoder layers with `self_attn` and `mlp` "
            "sublayers, so bottleneck adapters have nowhere to go.",
            "Use --peft lora, which adapts any linear layer.",
        )
    dtype = next(model.parameters()).dtype
    for layer in layers:
        for name in SUBLAYERS[config["style"]]:
            sublayer = getattr(layer, name)
            adapter = Bottleneck(
                config["hidden_size"], config["adapter_size"], config["non_linearity"]
            )
            sublayer.add_module(KEY, adapter.to(dtype))
            sublayer.register_forward_hook(_after_sublayer)
    return model


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    return {k: v.contiguous() for k, v in state.items() if f".{KEY}." in k}


def load_bottleneck(model: nn.Module, adapter_dir: str | Path) -> nn.Module:
    """Put the adapters saved in `adapter_dir` on `model` (a base model, loaded as usual)."""
    adapter_dir = Path(adapter_dir)
    config = json.loads((adapter_dir / CONFIG).read_text(encoding="utf-8"))
    if config.get("lmforge_method") != "bottleneck":
        raise LmforgeError(f"{adapter_dir} holds no bottleneck adapter.")
    if config["hidden_size"] != model.config.hidden_size:
        raise LmforgeError(
            f"the adapter in {adapter_dir} is for hidden size {config['hidden_size']}, "
            f"the model has {model.config.hidden_size}.",
            "Load it onto the base model it was trained on.",
        )
    add_bottlenecks(model, config)
    weights = load_file(adapter_dir / WEIGHTS)
    missing = set(adapter_state(model)) ^ set(weights)
    if missing:
        raise LmforgeError(f"{adapter_dir} does not match the model's layers ({len(missing)}).")
    model.load_state_dict(weights, strict=False)
    return model


class BottleneckMethod(Method):
    name = "bottleneck"
    kind = "adapter"

    def prepare(self, model: nn.Module) -> nn.Module:
        freeze_all(model)
        return add_bottlenecks(model, self.adapter_config(model))

    def adapter_config(self, model: nn.Module) -> dict:
        o = self.options
        return {
            "lmforge_method": "bottleneck",
            "style": o.adapter_style,
            "adapter_size": o.adapter_size,
            "non_linearity": o.non_linearity,
            "hidden_size": model.config.hidden_size,
            "base_model_name_or_path": model.config.name_or_path,
        }

    def save(self, model: nn.Module, tokenizer, out: Path) -> None:
        config = json.dumps(self.adapter_config(model), indent=2)
        (out / CONFIG).write_text(config + "\n", encoding="utf-8")
        save_file(adapter_state(model), out / WEIGHTS)
        tokenizer.save_pretrained(out)
