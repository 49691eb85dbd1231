"""Shared by every training command: load a model, train it on packed rows, save the result.

A command (pretrain, sft, ...) only says how its data becomes rows and which objective
trains; this module does the loading, the checks, the loop and the artifact.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model, save_model
from lmforge.runs import prepare_out_dir, write_manifest
from lmforge.train.checkpoint import checkpoint_dir
from lmforge.train.config import TrainConfig
from lmforge.train.loop import make_accelerator, result_dict, train
from lmforge.train.methods import Method
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
    method: Method | None = None,
    after_train: Callable[[torch.nn.Module, PackedRows], dict] | None = None,
    extra_config: dict | None = None,
) -> dict:
    """Train `model_dir` on the rows `build_rows(tokenizer)` makes; save it to `out`.

    `method` (a PEFT method, see `train.methods`) chooses which parameters train and how the
    result is saved; without it every parameter trains and the whole model is saved.
    `after_train(model, held_out_rows)` adds metrics (e.g. held-out reward accuracy) and
    `extra_config` settings (e.g. the alignment objective's) to the manifest.
    """
    if method is not None:
        method.check()
    accelerator = make_accelerator(config.precision)
    out = _prepare_shared_out_dir(accelerator, out, overwrite)
    model, tokenizer = method.load(model_dir) if method else load_model(model_dir)
    extra = method.virtual_tokens if method else 0
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and config.seq_len + extra > limit:
        virtual = f" plus {extra} virtual tokens" if extra else ""
        raise LmforgeError(
            f"--seq-len {config.seq_len}{virtual} is longer than the model's context "
            f"({limit} tokens).",
            f"Use --seq-len {limit - extra} or less.",
        )
    rows, data_metrics = build_rows(tokenizer)
    if len(rows) == 0:
        raise LmforgeError(f"the data in {data[0]} gave no training tokens.")
    train_rows, eval_rows = rows.split(config.eval_fraction, config.seed)
    method_metrics, method_config = {}, {}
    if method is not None:
        torch.manual_seed(config.seed)  # adapters initialise from the run's seed: reruns agree
        model, objective = method.prepare(model), method.objective(objective)
        method_metrics, method_config = method.counts(model), method.options.for_manifest()
        if method.optimizer:
            config = config.model_copy(update={"optimizer": method.optimizer})
    settings = {"kind": kind, **method_config, **(extra_config or {})}  # resume must match
    result = train(
        model, objective, train_rows, config, out, eval_rows, accelerator, kind, settings
    )
    metrics = {**data_metrics, **result_dict(result), "rows": len(train_rows), **method_metrics}
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        if after_train is not None:  # e.g. held-out reward accuracy, into the manifest
            metrics |= after_train(unwrapped, eval_rows)
        if method is not None:
            method.save(unwrapped, tokenizer, out)
        else:
            save_model(unwrapped, tokenizer, out)
        if not config.keep_checkpoints:
            shutil.rmtree(checkpoint_dir(out), ignore_errors=True)
        inputs = {
            "model": model_dir,
            **{f"data{i}" if i else "data": p for i, p in enumerate(data)},
        }
        kind = (method and method.kind) or kind
        settings = config.model_dump() | method_config | (extra_config or {})
        write_manifest(out, kind, settings, inputs, metrics)
    accelerator.wait_for_everyone()
    return metrics


def _prepare_shared_out_dir(accelerator, out: Path, overwrite: bool) -> Path:
    """`prepare_out_dir` on the main process first; the others then find it ready to resume.

    Several processes clearing one directory at once (`--overwrite` under DDP) would race.
    """
    if accelerator.is_main_process:
        out = prepare_out_dir(out, overwrite=overwrite, resumable=True)
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        out = prepare_out_dir(out, overwrite=False, resumable=True)  # keeps what main made
    return out
