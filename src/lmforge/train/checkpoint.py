"""Checkpoints for exact resume: model, optimizer, scheduler, step and RNG states.

A checkpoint is written to a temporary directory and renamed into place, so a kill during
the write leaves the previous checkpoint intact and never a half-written one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmforge.errors import LmforgeError

PREFIX = "step-"
SETTINGS = "settings.json"


def checkpoint_dir(out: Path) -> Path:
    return out / "checkpoints"


def latest_checkpoint(out: Path) -> Path | None:
    root = checkpoint_dir(out)
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if p.name.startswith(PREFIX) and (p / "state.pt").exists()]
    return max(done, key=lambda p: int(p.name[len(PREFIX) :]), default=None)


def check_run_settings(out: Path, settings: dict[str, Any]) -> None:
    """Record a run's settings beside its checkpoints; refuse to resume under other ones.

    The loop compares the training config itself; this covers what lies outside it (the PEFT
    method and its options, the alignment objective and its beta), which would otherwise
    resume silently into a different run.
    """
    path = checkpoint_dir(out) / SETTINGS
    current = _flat(json.loads(json.dumps(settings, default=str)))  # as it reads back from disk
    if latest_checkpoint(out) is not None and path.is_file():
        saved = json.loads(path.read_text())
        changed = sorted(k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))
        if changed:
            what = ", ".join(f"{k}: {saved.get(k)!r} then, {current.get(k)!r} now" for k in changed)
            raise LmforgeError(
                f"{out} holds an unfinished run with other settings ({what}).",
                "Run with the same settings to resume it, or pass --overwrite to start over.",
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # each process of a multi-process run its own
    tmp.write_text(json.dumps(current, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"peft": {"method": "lora"}} -> {"peft.method": "lora"}: a change names its own key."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def save_checkpoint(out: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    root = checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:08d}"
    tmp = root / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save({**state, "step": step, "rng": _rng_state()}, tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in sorted(p for p in root.iterdir() if p.name.startswith(PREFIX))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> dict[str, Any]:
    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    _set_rng_state(state.pop("rng"))
    return state


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
