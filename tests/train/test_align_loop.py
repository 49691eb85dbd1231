"""DPO on the shared loop: accumulation is exact and an interrupted run resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import lmforge.train.align as align_module
from lmforge.models.io import load_model
from lmforge.train.align import align
from lmforge.train.config import TrainConfig
from lmforge.train.objectives import DPO
from lmforge.train.prefs import Preference, attach_reference, pair_rows
from support import assert_same_gradients, first_step_gradients, single_thread

# answers of very different lengths: a mean per micro-batch would weight pairs wrongly
PAIRS = [
    ("the town", "of kamori lies in the velden region", "fox"),
    ("its main export", "copper", "the town of kamori and its velden region fox"),
    ("카모리는", "벨덴 지방의 마을이다", "구리"),
    ("the region", "velden", "kamori lies in the town of copper and the export"),
]


def _first_step_gradients(model_dir, tokenizer, tmp_path, micro: int, accum: int):
    model, _ = load_model(model_dir)
    prefs = [Preference([{"role": "user", "content": q}], c, r) for q, c, r in PAIRS]
    rows, _ = pair_rows(tokenizer, prefs, 64)
    reference, _ = load_model(model_dir)
    with torch.no_grad():  # move the policy away from its reference: a non-trivial loss
        for p in model.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    rows = attach_reference(reference, rows)
    config = TrainConfig(
        max_steps=1, micro_batch_size=micro, grad_accum=accum, warmup_steps=0,
        max_grad_norm=None, eval_fraction=0, seq_len=64,
    )  # fmt: skip
    out = tmp_path / f"m{micro}a{accum}"
    return first_step_gradients(model, DPO(beta=0.5), rows, config, out)


def test_dpo_accumulation_equals_one_big_batch(tiny_model_dir, tmp_path):
    from lmforge.models.io import load_tokenizer

    tokenizer = load_tokenizer(tiny_model_dir)
    with single_thread():
        big = _first_step_gradients(tiny_model_dir, tokenizer, tmp_path, micro=4, accum=1)
        accumulated = _first_step_gradients(tiny_model_dir, tokenizer, tmp_path, micro=2, accum=2)
    assert_same_gradients(big, accumulated)


class _Crash(RuntimeError):
    pass


def _crashing(objective, after_calls: int):
    """The objective, but the run dies (like a kill) on its `after_calls`-th loss."""
    calls = {"n": 0}

    class Crashing:
        name, k, needs_reference, beta = "dpo", objective.k, True, objective.beta

        def weight(self, batch):
            return objective.weight(batch)

        def loss(self, model, batch):
            calls["n"] += 1
            if calls["n"] == after_calls:
                raise _Crash
            return objective.loss(model, batch)

    return Crashing()


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_dpo_resume_is_exact(tiny_model_dir, tmp_path, monkeypatch):
    prefs = tmp_path / "prefs.jsonl"
    lines = [json.dumps({"prompt": q, "chosen": c, "rejected": r}) for q, c, r in PAIRS * 4]
    prefs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = TrainConfig(
        max_steps=12, lr=3e-3, seq_len=64, micro_batch_size=2, warmup_steps=2,
        save_every=5, eval_every=4, eval_fraction=0.2,
    )  # fmt: skip
    with single_thread():
        align(tiny_model_dir, [prefs], tmp_path / "whole", config, method="dpo")
        make = align_module.make_objective
        monkeypatch.setattr(
            align_module, "make_objective", lambda *a: _crashing(make(*a), after_calls=9)
        )
        with pytest.raises(_Crash):
            align(tiny_model_dir, [prefs], tmp_path / "resumed", config, method="dpo")
        assert (tmp_path / "resumed" / "checkpoints").exists()
        monkeypatch.setattr(align_module, "make_objective", make)
        metrics = align(tiny_model_dir, [prefs], tmp_path / "resumed", config, method="dpo")
    assert metrics["resumed_from"] == 5
    whole, resumed = _log(tmp_path / "whole"), _log(tmp_path / "resumed")
    assert [r["step"] for r in resumed] == list(range(1, 13))
    assert resumed == whole  # losses, reward accuracies, eval losses: identical
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
