"""The whole lifecycle on the lab world in one command, ending in a report.

lab world → basic curation → tokenizer → model init → pretrain → SFT → eval of the
pretrained and the tuned model → `report.md` (numbers, loss plot) and `lineage.json`.
Each stage writes its own artifact directory under the workdir; a stage whose artifact is
already finished is skipped, so a killed quickstart resumes where it stopped.

Run: `lmforge quickstart --workdir qs/` (`--size tiny` is a smoke test of a few seconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rich.console import Console

from lmforge.errors import LmforgeError
from lmforge.runs import MANIFEST, lineage, read_manifest
from lmforge.train.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    lab_size: str
    model_size: str
    vocab_size: int
    pretrain: TrainConfig
    sft: TrainConfig
    eval_tasks: tuple[str, ...] = ("lab-qa", "lab-mc")


def _presets(seed: int) -> dict[str, Preset]:
    def cfg(**settings) -> TrainConfig:
        return TrainConfig(seed=seed, eval_every=50, save_every=100, **settings)

    return {
        "tiny": Preset(
            "tiny", "tiny", 512,
            cfg(max_steps=30, lr=3e-3, seq_len=128, micro_batch_size=8, warmup_steps=3),
            cfg(max_steps=20, lr=1e-3, seq_len=128, micro_batch_size=8, warmup_steps=2),
        ),
        "small": Preset(
            "small", "small", 2048,
            cfg(epochs=30, lr=3e-3, seq_len=128, micro_batch_size=16, warmup_steps=20),
            cfg(epochs=30, lr=2e-3, seq_len=128, micro_batch_size=16, warmup_steps=10),
        ),
    }  # fmt: skip


@dataclass
class StageLog:
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def run_quickstart(workdir: Path, size: str = "small", seed: int = 0) -> Path:
    """Run every stage into `workdir`; return the path of the report."""
    presets = _presets(seed)
    if size not in presets:
        raise LmforgeError(f"unknown quickstart size {size!r}.", f"Choose {' or '.join(presets)}.")
    preset, console, log = presets[size], Console(), StageLog()
    workdir.mkdir(parents=True, exist_ok=True)
    d = {
        name: workdir / name
        for name in ("lab", "curated", "tokenizer", "init", "pretrained", "sft")
    }

    def stage(name: str, out: Path, work: Callable[[], object]) -> None:
        if (out / MANIFEST).exists():
            log.skipped.append(name)
            console.print(f"[dim]✓ {name}: already done ({out})[/]")
            return
        console.rule(f"[bold]{name}")
        start = time.perf_counter()
        work()
        log.seconds[name] = time.perf_counter() - start

    from lmforge.data.curate import curate_basic
    from lmforge.eval.run import evaluate
    from lmforge.lab.generate import generate_lab
    from lmforge.models.init import init_model
    from lmforge.tokenizer.train import train_tokenizer
    from lmforge.train.pretrain import pretrain
    from lmforge.train.sft import sft

    stage("lab", d["lab"], lambda: generate_lab(d["lab"], seed, size=preset.lab_size))
    stage("curate", d["curated"], lambda: curate_basic([d["lab"] / "raw"], d["curated"], True))
    kept = d["curated"] / "kept"
    stage(
        "tokenizer",
        d["tokenizer"],
        lambda: train_tokenizer([kept], d["tokenizer"], preset.vocab_size, True),
    )
    stage(
        "init",
        d["init"],
        lambda: init_model(d["tokenizer"], d["init"], preset.model_size, seed, True),
    )
    stage(
        "pretrain",
        d["pretrained"],
        lambda: pretrain(d["init"], [kept], d["pretrained"], preset.pretrain),
    )
    sft_data = [d["lab"] / "sft" / "train.jsonl"]
    stage("sft", d["sft"], lambda: sft(d["pretrained"], sft_data, d["sft"], preset.sft))
    results = {}
    for name in ("pretrained", "sft"):
        out = workdir / f"eval-{name}"
        tasks = list(preset.eval_tasks)
        stage(f"eval {name}", out, partial(evaluate, d[name], tasks, out, d["lab"], overwrite=True))
        results[name] = json.loads((out / "results.json").read_text(encoding="utf-8"))

    from lmforge.report import write_report

    report = write_report(workdir, d, results, log.seconds, size)
    (workdir / "lineage.json").write_text(
        json.dumps(lineage(d["sft"]), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    console.rule("[bold green]done")
    # soft_wrap: keep paths and the command whole, so they can be copied from the terminal
    console.print(
        f"Report: [bold]{report}[/]   Lineage: {workdir / 'lineage.json'}", soft_wrap=True
    )
    console.print(
        f"Chat with the tuned model:  [bold]lmforge chat --model {d['sft']}[/]", soft_wrap=True
    )
    return report


def stage_metrics(path: Path) -> dict:
    return (read_manifest(path) or {}).get("metrics", {})
