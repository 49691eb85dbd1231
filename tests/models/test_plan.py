"""`lmforge plan`: predicted peak training memory against real training runs on CPU.

"Measured" is the peak RSS of a child process minus its RSS at the baseline: after imports
and after a one-step warm-up run of the tiny model at batch 1 × 8 tokens (which loads the
code transformers/accelerate import lazily and initialises torch's kernels), with the
warm-up's objects freed. The peak is Linux's VmHWM, reset to the current RSS at the baseline
(`/proc/self/clear_refs`), so a peak during imports or the warm-up cannot count; it is the
same quantity as `ru_maxrss`, which cannot be reset. Then the model under test loads and
trains two steps through the shared loop (AdamW's states exist in step 2). The prediction
must be within 25%.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.models.plan import count_parameters, plan_memory

CHILD = r"""
import gc, resource, sys, tempfile
from pathlib import Path
import torch
from lmforge.models.io import load_model
from lmforge.train.config import TrainConfig
from lmforge.train.loop import train
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import PackedRows


def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def status_kib(field):
    lines = Path("/proc/self/status").read_text().splitlines()
    line = next(ln for ln in lines if ln.startswith(field))
    return int(line.split()[1]) * 1024


def run(model_dir, batch, seq):
    model, tok = load_model(model_dir)
    ids = torch.randint(5, len(tok), (batch * 2, seq), generator=torch.Generator().manual_seed(0))
    rows = PackedRows(ids, ids.clone(), torch.arange(seq).repeat(batch * 2, 1))
    config = TrainConfig(
        max_steps=2, micro_batch_size=batch, seq_len=seq, eval_fraction=0, warmup_steps=0
    )
    with tempfile.TemporaryDirectory() as out:
        train(model, CausalLM(), rows, config, Path(out))


torch.set_num_threads(1)
run(Path(sys.argv[4]), 1, 8)
gc.collect()
baseline = rss()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) := current RSS
run(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
print(before - baseline, status_kib("VmHWM") - baseline)
"""


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from lmforge.models.init import init_model

    out = tmp_path_factory.mktemp("model") / "small"
    init_model(tokenizer_dir, out, size="small", seed=0)
    return out


def _measure(model_dir: Path, warm_dir: Path, batch: int, seq: int) -> tuple[int, int]:
    """(peak before the baseline, peak during the measured run), both minus the baseline."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-c", CHILD, str(model_dir), str(batch), str(seq), str(warm_dir)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    before, during = done.stdout.strip().splitlines()[-1].split()
    return int(before), int(during)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("size", "batch", "seq"), [("tiny", 8, 256), ("small", 4, 256)])
def test_prediction_within_25_percent_of_measured(
    tiny_model_dir, small_model_dir, size, batch, seq
):
    model_dir = tiny_model_dir if size == "tiny" else small_model_dir
    before, measured = _measure(model_dir, tiny_model_dir, batch, seq)
    predicted = plan_memory(model_dir, batch=batch, seq=seq).total
    assert abs(predicted - measured) <= 0.25 * measured, (predicted, measured, before)


def test_peft_counts_trainable_parameters_without_weights(tiny_model_dir):
    from lmforge.models.io import load_model
    from lmforge.train.methods import build_method, parameter_counts

    total, trainable = count_parameters(tiny_model_dir, "lora")
    real = parameter_counts(build_method("lora").prepare(load_model(tiny_model_dir)[0]))
    assert (total, trainable) == (real["total_parameters"], real["trainable_parameters"])
    full = plan_memory(tiny_model_dir, "none", batch=2, seq=64)
    lora = plan_memory(tiny_model_dir, "lora", batch=2, seq=64)
    assert lora.optimizer == 8 * trainable < full.optimizer
    assert lora.activations == full.activations


def test_plan_command_prints_a_table(tiny_model_dir):
    from typer.testing import CliRunner

    from lmforge.cli import app

    result = CliRunner().invoke(app, ["plan", "--model", str(tiny_model_dir), "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert all(word in result.output for word in ("weights", "optimizer", "activations", "total"))
