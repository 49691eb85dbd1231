"""Shared by every training command: load a model, train it on packed rows, save the result.

A command (pretrain, sft, ...) only says how its data becomes rows and which objective
trains; this module does the loading, the checks, the loop and the artifact.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model, save_model
from lmforge.runs import prepare_out_dir, write_manifest
from lmforge.train.checkpoint import checkpoint_dir
from lmforge.train.config import TrainConfig
from lmforge.train.loop import make_accelerator, result_dict, train
from lmforge.train.packing import PackedRows


def fit_and_save(
    kind: str,
    model_dir: Path,
    data: list[Path],
    out: Path,
    config: TrainConfig,
    build_rows: Callable[[object], tuple[PackedRows, dict]],
    objective,
    overwrite: bool = False,
) -> dict:
    """Train `model_dir` on the rows `build_rows(tokenizer)` makes; save it to `out`."""
    out = prepare_out_dir(out, overwrite=overwrite, resumable=True)
    model, tokenizer = load_model(model_dir)
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and config.seq_len > limit:
        raise LmforgeError(
            f"--seq-len {config.seq_len} is longer than the model's context ({limit} tokens).",
            f"Use --seq-len {limit} or less.",
        )
    rows, data_metrics = build_rows(tokenizer)
    if len(rows) == 0:
        raise LmforgeError(f"the data in {data[0]} gave no training tokens.")
    train_rows, eval_rows = rows.split(config.eval_fraction, config.seed)
    accelerator = make_accelerator(config.precision)
    result = train(model, objective, train_rows, config, out, eval_rows, accelerator, kind)
    metrics = {**data_metrics, **result_dict(result), "rows": len(train_rows)}
    if accelerator.is_main_process:
        save_model(accelerator.unwrap_model(model), tokenizer, out)
        if not config.keep_checkpoints:
            shutil.rmtree(checkpoint_dir(out), ignore_errors=True)
        inputs = {
            "model": model_dir,
            **{f"data{i}" if i else "data": p for i, p in enumerate(data)},
        }
        write_manifest(out, kind, config.model_dump(), inputs, metrics)
    accelerator.wait_for_everyone()
    return metrics
