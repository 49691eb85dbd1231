"""`lmforge plan`: predict the peak memory of training a model before loading any weight.

The model is built from its `config.json` on the meta device (no memory, no weights read);
the PEFT method is applied to that meta model, so trainable parameters are counted exactly
as training counts them. With P parameters, T of them trainable, B bytes per value (4: fp32
on CPU), a micro-batch of b rows of s tokens, L layers, hidden h, MLP width i, a heads and
vocabulary V, the prediction is

    weights      P·B
    gradients    T·B
    optimizer    2·T·B                       (AdamW's two moments)
    activations  b·s·B·[L·(10h + 4i + a + s) + 3h + 3V]

Activations are what autograd keeps for the backward pass of a Llama decoder layer in
transformers' sdpa path (counted with `torch.autograd.graph.saved_tensors_hooks`): about
ten hidden-sized tensors per token (two RMSNorms keep input and normalised output, the
inputs of the q/k/v, o and gate/up projections, q/k/v after RoPE, the attention output), four
MLP-sized ones (gate, SiLU(gate), up, their product), the attention's log-sum-exp (a per
token) and the float block-diagonal mask lmforge's packed rows make (s per token, per
layer). On top: the final norm (3h) and the logits (3V: the log-softmax kept for backward
and two gradient buffers of its size at the start of the backward pass). PEFT methods keep
almost the same activations, so the same term is used for all of them (an over-estimate for
the frozen layers, which keep fewer). Not counted: allocator slack, the Python process
itself, checkpoints being written. Measured against real runs in tests/models/test_plan.py
("memory above the process's RSS after imports", within 25%).

Python: `plan_memory(model_dir, peft="lora", batch=8, seq=1024)` → `MemoryPlan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from lmforge.models.io import load_config
from lmforge.train.methods import build_method, parameter_counts

BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


@dataclass
class MemoryPlan:
    parameters: int
    trainable: int
    weights: int  # bytes
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def rows(self) -> list[tuple[str, int, str]]:
        return [
            ("weights", self.weights, f"{self.parameters:,} parameters"),
            ("gradients", self.gradients, f"{self.trainable:,} trainable"),
            ("optimizer", self.optimizer, "AdamW: 2 moments per trainable parameter"),
            ("activations", self.activations, "kept for backward (see formula)"),
            ("total", self.total, "predicted peak"),
        ]


def count_parameters(model_dir: Path, peft: str = "none") -> tuple[int, int]:
    """(all, trainable) parameters after `peft` is applied, on the meta device."""
    config = load_config(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
        if peft != "none":
            model = build_method(peft).prepare(model)
    counts = parameter_counts(model)
    return counts["total_parameters"], counts["trainable_parameters"]


def activation_bytes(config, batch: int, seq: int, bytes_per_value: int = 4) -> int:
    h, i = config.hidden_size, config.intermediate_size
    heads, layers, vocab = config.num_attention_heads, config.num_hidden_layers, config.vocab_size
    per_token = layers * (10 * h + 4 * i + heads + seq) + 3 * h + 3 * vocab
    return batch * seq * bytes_per_value * per_token


def plan_memory(
    model_dir: Path, peft: str = "none", batch: int = 8, seq: int = 1024, precision: str = "fp32"
) -> MemoryPlan:
    """Predicted peak training memory of `model_dir` (see the module docstring's formula)."""
    total, trainable = count_parameters(Path(model_dir), peft)
    b = BYTES[precision]
    config = load_config(model_dir)
    # mixed precision keeps fp32 master weights, gradients and moments; activations shrink
    return MemoryPlan(
        parameters=total,
        trainable=trainable,
        weights=4 * total,
        gradients=4 * trainable,
        optimizer=8 * trainable,
        activations=activation_bytes(config, batch, seq, b),
    )


def human(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
