"""The shared loop: loss falls, accumulation is exact, resume after a kill is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from lmforge.models.io import load_model
from lmforge.train.config import TrainConfig
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import Example, pack_whole
from lmforge.train.pretrain import pretrain
from support import assert_same_gradients, first_step_gradients


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_pretraining_loss_falls(tiny_model_dir, corpus, tmp_path):
    config = TrainConfig(max_steps=40, lr=3e-3, seq_len=64, micro_batch_size=8, warmup_steps=2)
    metrics = pretrain(tiny_model_dir, [corpus], tmp_path / "out", config)
    losses = [r["loss"] for r in _log(tmp_path / "out")]
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.6 * losses[0]
    assert metrics["eval_loss"] < losses[0]
    assert not (tmp_path / "out" / "checkpoints").exists()  # removed once finished


def _uneven_rows():
    # rows with very different numbers of trained tokens: a plain mean per micro-batch would
    # weight them wrongly; the token-weighted loss must not care how rows are grouped
    examples = [
        Example(list(range(3, 3 + n)), [i >= n // 2 for i in range(n)])
        for n in (5, 30, 9, 60, 14, 3, 40, 22)
    ]
    return pack_whole(examples, 64, 0)


def _first_step_gradients(model_dir, tmp_path, micro: int, accum: int) -> list[torch.Tensor]:
    model, _ = load_model(model_dir)
    config = TrainConfig(
        max_steps=1, micro_batch_size=micro, grad_accum=accum, warmup_steps=0,
        max_grad_norm=None, eval_fraction=0,
    )  # fmt: skip
    out = tmp_path / f"m{micro}a{accum}"
    return first_step_gradients(model, CausalLM(), _uneven_rows(), config, out)


def test_accumulation_equals_one_big_batch(tiny_model_dir, tmp_path):
    big = _first_step_gradients(tiny_model_dir, tmp_path, micro=8, accum=1)
    accumulated = _first_step_gradients(tiny_model_dir, tmp_path, micro=2, accum=4)
    assert_same_gradients(big, accumulated)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lmforge", *args]


def test_resume_after_sigkill_is_exact(tiny_model_dir, corpus, tmp_path):
    args = [
        "pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--steps", "120",
        "--seq-len", "64", "--batch-size", "4", "--set", "save_every=10", "--set", "eval_every=15",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_cli(*args, "--out", str(tmp_path / "whole")), check=True, env=env)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(*args, "--out", str(killed)), env=env)
    deadline = time.time() + 120
    while not (killed / "checkpoints" / "step-00000030").exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "lmforge.json").exists()  # nothing looks finished
    subprocess.run(_cli(*args, "--out", str(killed)), check=True, env=env)

    whole, resumed = _log(tmp_path / "whole"), _log(killed)
    assert [r["step"] for r in resumed] == list(range(1, 121))
    assert json.loads((killed / "lmforge.json").read_text())["metrics"]["resumed_from"] >= 30
    assert resumed == whole  # every loss, lr, grad norm and eval loss identical
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(killed / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
