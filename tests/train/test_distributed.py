"""Two real processes (`accelerate launch`, gloo on CPU) train exactly what one process trains.

The 2-process run uses the DDP recipe (`recipes/accelerate/ddp.yaml`) with half the
micro-batch; the 1-process run has the same global batch (micro-batch × accumulation ×
processes). Same rows per step, loss weighted by the step's global token count, gradients
averaged by DDP: the loss curve and the final weights agree up to float summation order.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lmforge.runs import MANIFEST, PARTIAL
from lmforge.train.checkpoint import checkpoint_dir
from lmforge.train.config import TrainConfig
from lmforge.train.pretrain import pretrain
from lmforge.train.sft import sft
from support import single_thread

RECIPE = Path(__file__).parents[2] / "recipes" / "accelerate" / "ddp.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(*args: str) -> subprocess.CompletedProcess:
    """`accelerate launch --config_file ddp.yaml --num_processes 2 -m lmforge ARGS`."""
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(RECIPE),
        "--num_processes", "2", "--main_process_port", str(_free_port()), "-m", "lmforge", *args,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _same_curve(a: list[dict], b: list[dict]) -> None:
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        assert x["tokens"] == y["tokens"] and x["lr"] == y["lr"]
        for key in x.keys() - {"step", "tokens", "lr"}:
            assert x[key] == pytest.approx(y[key], rel=1e-5, abs=1e-6), (x["step"], key)


def _same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key], wb[key], rtol=1e-4, atol=1e-6), key


def test_two_processes_equal_one(tiny_model_dir, chats_file, tmp_path):
    # SFT rows carry very different numbers of trained tokens, so a per-process or
    # per-micro-batch mean would give another gradient than the global token-weighted one
    common = dict(max_steps=6, lr=2e-2, seq_len=48, warmup_steps=1, eval_fraction=0.1, eval_every=3)
    with single_thread():
        sft(
            tiny_model_dir,
            [chats_file],
            tmp_path / "one",
            TrainConfig(micro_batch_size=4, **common),
        )
    flags = [f"--set={k}={v}" for k, v in common.items() if k not in {"max_steps", "lr", "seq_len"}]
    _launch(
        "sft", "--model", str(tiny_model_dir), "--data", str(chats_file), "--out",
        str(tmp_path / "two"), "--steps", "6", "--lr", "2e-2", "--seq-len", "48",
        "--batch-size", "1", "--grad-accum", "2", *flags,
    )  # fmt: skip

    one, two = _log(tmp_path / "one"), _log(tmp_path / "two")
    assert len(two) == 6 and two[0]["tokens"] == 4 * 48  # global tokens, not one process's
    assert len({r["loss"] for r in two}) > 1  # it trained
    _same_curve(one, two)
    _same_weights(tmp_path / "one", tmp_path / "two")
    manifest = json.loads((tmp_path / "two" / "lmforge.json").read_text())
    assert manifest["metrics"]["steps"] == 6  # written once, by the main process


@pytest.mark.slow
def test_two_process_resume_is_exact(tiny_model_dir, corpus, tmp_path):
    """A 2-process run cut after a checkpoint resumes to the uninterrupted run's result."""
    args = [
        "pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--steps", "8",
        "--seq-len", "64", "--batch-size", "2", "--set", "save_every=4", "--set", "eval_every=3",
        "--set", "keep_checkpoints=true",
    ]  # fmt: skip
    whole = tmp_path / "whole"
    _launch(*args, "--out", str(whole))
    # what a kill right after step 4's checkpoint leaves: the checkpoint, the log, no manifest
    cut = tmp_path / "cut"
    shutil.copytree(checkpoint_dir(whole), checkpoint_dir(cut))
    shutil.copy(whole / "metrics.jsonl", cut / "metrics.jsonl")  # all 8 steps: 5-8 must go
    (cut / PARTIAL).touch()
    ckpts = sorted(checkpoint_dir(cut).glob("step-*"))
    assert [p.name for p in ckpts] == ["step-00000004"]
    _launch(*args, "--out", str(cut))

    manifest = json.loads((cut / "lmforge.json").read_text())
    assert manifest["metrics"]["resumed_from"] == 4
    assert _log(cut) == _log(whole)
    _same_weights(whole, cut)


def test_resume_refuses_another_process_count(tiny_model_dir, corpus, tmp_path):
    """A checkpoint made by 2 processes is not resumed by 1: the global batch would change."""
    from lmforge.errors import LmforgeError

    config = TrainConfig(
        max_steps=4, seq_len=64, micro_batch_size=2, save_every=2, keep_checkpoints=True
    )
    out = tmp_path / "run"
    with single_thread():
        pretrain(tiny_model_dir, [corpus], out, config)
    # make it the unfinished run of 2 processes: a checkpoint saying so, no manifest
    (ckpt,) = checkpoint_dir(out).glob("step-*")
    state = torch.load(ckpt / "state.pt", weights_only=False)
    assert state["identity"]["processes"] == 1
    state["identity"]["processes"] = 2
    torch.save(state, ckpt / "state.pt")
    (out / MANIFEST).unlink()
    (out / PARTIAL).touch()
    with single_thread(), pytest.raises(LmforgeError, match="processes: 2 then, 1 now"):
        pretrain(tiny_model_dir, [corpus], out, config)


@pytest.mark.slow
def test_fsdp_launch_is_refused(tiny_model_dir, corpus, tmp_path):
    """FSDP would save one process's shard as the model: the loop says so instead of training."""
    recipe = RECIPE.with_name("fsdp.yaml")
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(recipe),
        "--num_processes", "1", "--main_process_port", str(_free_port()), "-m", "lmforge",
        "pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out",
        str(tmp_path / "out"), "--steps", "2", "--seq-len", "64",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "does not support FSDP launches yet" in done.stdout + done.stderr
    assert not (tmp_path / "out" / "metrics.jsonl").exists()  # refused before any step


@pytest.mark.parametrize("name", ["ddp", "fsdp", "deepspeed-zero2", "deepspeed-zero3"])
def test_recipes_are_valid_accelerate_configs(name, monkeypatch):
    """Each recipe goes through `accelerate launch`'s own validation and builds its plugin."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    recipe = RECIPE.with_name(f"{name}.yaml")
    argv = ["--config_file", str(recipe), "-m", "lmforge", "pretrain"]
    args, defaults, _ = _validate_launch_command(launch_command_parser().parse_args(argv))
    if args.use_deepspeed:  # what `accelerate launch` sets before its DeepSpeed launcher
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
        env = prepare_deepspeed_cmd_env(args)[1]
    else:
        env = prepare_multi_gpu_env(args)
    for key, value in env.items():  # monkeypatch restores the environment afterwards
        monkeypatch.setenv(key, value)
    if name == "ddp":
        assert env.get("ACCELERATE_USE_FSDP") is None and args.multi_gpu
    elif name == "fsdp":
        plugin = FullyShardedDataParallelPlugin()
        assert plugin.fsdp_version == 2
        assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    else:
        stage = int(name[-1])
        config = DeepSpeedPlugin().deepspeed_config
        assert config["zero_optimization"]["stage"] == stage
        assert config["gradient_accumulation_steps"] == 1
