"""Helpers for the PEFT tests: short runs that keep the model they saved.

Importable from tests/train/ because pytest puts each test directory on sys.path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lmforge.train import sft as sft_module
from lmforge.train.config import TrainConfig
from lmforge.train.methods import build_method
from support import single_thread


def short_config(**changes) -> TrainConfig:
    values = dict(
        max_steps=6, lr=2e-2, seq_len=48, micro_batch_size=4, warmup_steps=0, eval_fraction=0.1,
        eval_every=3,
    )  # fmt: skip
    return TrainConfig(**(values | changes))


class Trained:
    """A finished run: its directory and the model as it was in memory when saved."""

    def __init__(self, out: Path, model: torch.nn.Module, metrics: dict):
        self.out, self.model, self.metrics = out, model.eval(), metrics


def run_sft(model_dir: Path, data: Path, out: Path, peft, config: TrainConfig) -> Trained:
    """`sft(..., peft=...)`, keeping the in-memory model the run saved."""
    method = build_method(peft)
    saved = []
    save = method.save

    def capture(model, tokenizer, where):
        saved.append(model)
        save(model, tokenizer, where)

    method.save = capture
    with pytest.MonkeyPatch.context() as mp, single_thread():
        mp.setattr(sft_module, "build_method", lambda _: method)
        metrics = sft_module.sft(model_dir, [data], out, config, peft=peft)
    return Trained(out, saved[0], metrics)
