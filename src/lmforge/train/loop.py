"""The one training loop every objective and every method shares.

What varies between pretraining, SFT, PEFT and alignment is the objective (how a batch
becomes a loss) and which parameters train; the loop does not. Per optimizer step it takes
its micro-batches from `RowOrder`, weights each micro-batch loss by the step's total
weight (tokens or examples), accumulates gradients, clips, steps AdamW and the schedule,
logs to `metrics.jsonl`, measures eval loss and writes atomic checkpoints. A run restarted
in the same output directory resumes from the last checkpoint with identical results.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lmforge.errors import LmforgeError
from lmforge.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lmforge.train.config import TrainConfig
from lmforge.train.order import RowOrder
from lmforge.train.packing import PackedRows
from lmforge.train.schedule import warmup_cosine


@dataclass
class TrainResult:
    steps: int
    resumed_from: int
    final_loss: float
    eval_loss: float | None
    tokens: int
    tokens_per_s: float
    train_seconds: float


def make_accelerator(precision: str = "auto") -> Accelerator:
    cuda = torch.cuda.is_available()
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    mixed = "no" if precision == "fp32" else precision
    accelerator = Accelerator(mixed_precision=mixed, cpu=not cuda)
    _check_supported(accelerator)
    return accelerator


def _check_supported(accelerator: Accelerator) -> None:
    # Checkpoints and the saved model take the main process's own state_dict: right when every
    # process holds the whole model (DDP), a shard under FSDP/DeepSpeed. Refuse rather than
    # write a broken model (docs/distributed.md, "Status").
    kind = accelerator.distributed_type.value
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        kind = "FSDP"  # on a CPU-only machine accelerate quietly runs an FSDP launch as DDP
    if kind in ("FSDP", "DEEPSPEED", "MEGATRON_LM"):
        raise LmforgeError(
            f"lmforge's training loop does not support {kind} launches yet: its "
            "checkpoints and saved model would hold only one process's shard.",
            "Launch with recipes/accelerate/ddp.yaml (DDP), see docs/distributed.md.",
        )


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; matrices decay, vectors (norms, biases) do not."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    adamw = torch.optim.AdamW
    if config.optimizer == "paged_adamw_8bit":  # QLoRA's optimizer; bitsandbytes, GPU only
        from bitsandbytes.optim import PagedAdamW8bit as adamw
    return adamw(
        [g for g in groups if g["params"]], lr=config.lr, betas=(config.beta1, config.beta2)
    )


class MetricsLog:
    """`metrics.jsonl`, one line per logged step; on resume, lines past the checkpoint go."""

    def __init__(self, path: Path, resume_step: int, enabled: bool):
        self.path, self.enabled = path, enabled
        if enabled:
            kept = []
            if resume_step and path.exists():
                lines = path.read_text(encoding="utf-8").splitlines()
                kept = [ln for ln in lines if json.loads(ln)["step"] <= resume_step]
            path.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")

    def write(self, record: dict) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def evaluate_loss(model, objective, rows: PackedRows, batch_size: int, device) -> float:
    """Weighted mean loss over `rows` (no gradient)."""
    was_training = model.training
    model.eval()
    total, weight = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = _to(rows.select(slice(start, start + batch_size)), device)
            loss_sum, metrics = objective.loss(model, batch)
            total, weight = total + float(loss_sum), weight + metrics["weight"]
    model.train(was_training)
    return total / max(weight, 1)


def train(
    model: torch.nn.Module,
    objective,
    train_rows: PackedRows,
    config: TrainConfig,
    out: Path,
    eval_rows: PackedRows | None = None,
    accelerator: Accelerator | None = None,
    description: str = "train",
    settings: dict | None = None,
) -> TrainResult:
    """Train `model` on `train_rows`, resuming from the last checkpoint in `out`.

    `settings` (e.g. the PEFT method and the objective's options) are what, beside `config`
    and the process count, makes this run this run: a checkpoint made under other ones is
    refused rather than resumed.
    """
    accelerator = accelerator or make_accelerator(config.precision)
    out.mkdir(parents=True, exist_ok=True)
    world = accelerator.num_processes
    total_steps = config.total_steps(len(train_rows), world)
    optimizer = build_optimizer(model, config)
    scheduler = warmup_cosine(optimizer, config.warmup_steps, total_steps, config.min_lr_ratio)
    identity = run_identity(config, world, settings)
    start_step = _resume(out, model, optimizer, scheduler, identity)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    order = RowOrder(len(train_rows), config.seed)
    log = MetricsLog(out / "metrics.jsonl", start_step, accelerator.is_main_process)
    loop = _Loop(accelerator, model, objective, optimizer, config, train_rows, order)

    tokens, loss, eval_loss, t0 = 0, float("nan"), None, time.perf_counter()
    with (
        _progress(accelerator.is_main_process, description) as progress,
        _stop_at_step_end() as stop,
    ):
        task = progress.add_task(description, total=total_steps, completed=start_step, info="")
        for step in range(start_step, total_steps):
            loss, grad_norm, step_tokens, extra = loop.step(step)
            scheduler.step()
            tokens += step_tokens
            done = step + 1
            record = {"step": done, "loss": loss, "lr": scheduler.get_last_lr()[0]}
            # every process trains micro-batches of the same shape: the step's tokens are world×
            record |= {"grad_norm": grad_norm, "tokens": step_tokens * world, **extra}
            if (
                eval_rows is not None
                and len(eval_rows)
                and (done % config.eval_every == 0 or done == total_steps)
            ):
                eval_loss = evaluate_loss(
                    model, objective, eval_rows, config.micro_batch_size, accelerator.device
                )
                record["eval_loss"] = eval_loss
            if done % config.log_every == 0 or "eval_loss" in record:
                log.write(record)
            rate = tokens * world / max(time.perf_counter() - t0, 1e-9)
            progress.update(task, advance=1, info=f"loss {loss:.3f} · {rate:,.0f} tok/s")
            if stop.requested or (done % config.save_every == 0 and done < total_steps):
                _save(accelerator, out, done, model, optimizer, scheduler, identity)
            if stop.requested:  # Ctrl-C: the finished steps are saved; the same command resumes
                raise KeyboardInterrupt
    seconds = time.perf_counter() - t0
    return TrainResult(
        steps=total_steps,
        resumed_from=start_step,
        final_loss=loss,
        eval_loss=eval_loss,
        tokens=tokens * world,
        tokens_per_s=tokens * world / max(seconds, 1e-9),
        train_seconds=seconds,
    )


class _Loop:
    """One optimizer step: token-weighted accumulation over this process's micro-batches."""

    def __init__(self, accelerator, model, objective, optimizer, config, rows, order):
        self.acc, self.model, self.objective = accelerator, model, objective
        self.optimizer, self.config, self.rows, self.order = optimizer, config, rows, order

    def step(self, step: int) -> tuple[float, float | None, int, dict[str, float]]:
        cfg, acc = self.config, self.acc
        if hasattr(self.objective, "begin_step"):  # online RL seeds its sampling by the step
            self.objective.begin_step(step)
        # Every process knows every row, so the step's global weight needs no communication.
        everyone = [
            self.order.micro_batches(
                step, cfg.micro_batch_size, cfg.grad_accum, r, acc.num_processes
            )
            for r in range(acc.num_processes)
        ]
        total_weight = sum(
            self.objective.weight(self.rows.select(idx)) for mine in everyone for idx in mine
        )
        scale = acc.num_processes / max(total_weight, 1)  # DDP averages gradients over processes
        loss_sum, tokens, sums = 0.0, 0, {}
        for i, idx in enumerate(everyone[acc.process_index]):
            batch = _to(self.rows.select(idx), acc.device)
            last = i == cfg.grad_accum - 1
            with contextlib.nullcontext() if last else acc.no_sync(self.model):
                with acc.autocast():
                    micro_loss, metrics = self.objective.loss(self.model, batch)
                acc.backward(micro_loss * scale)
            loss_sum += float(micro_loss.detach())
            for key in metrics.keys() - {"weight"}:  # objective metrics are sums, like the loss
                sums[key] = sums.get(key, 0.0) + float(metrics[key])
            tokens += batch["input_ids"].numel()
        grad_norm = None
        if cfg.max_grad_norm is not None:
            grad_norm = float(acc.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if acc.num_processes > 1:
            loss_sum = float(acc.reduce(torch.tensor(loss_sum, device=acc.device), "sum"))
            sums = _reduce_sums(acc, sums)
        extra = {key: sums[key] / max(total_weight, 1) for key in sorted(sums)}
        return loss_sum / max(total_weight, 1), grad_norm, tokens, extra


def _reduce_sums(acc, sums: dict[str, float]) -> dict[str, float]:
    if not sums:
        return sums
    keys = sorted(sums)
    total = acc.reduce(torch.tensor([sums[k] for k in keys], device=acc.device), "sum")
    return dict(zip(keys, total.tolist(), strict=True))


def _to(batch: dict[str, torch.Tensor], device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def run_identity(config: TrainConfig, world: int, settings: dict | None) -> dict:
    """What a checkpoint must share with the run resuming it, flat and as JSON reads back: the
    config, the process count (part of the global batch and of the row order) and `settings`
    ({"peft": {"method": "lora"}} -> {"peft.method": "lora"}, so a change names its key)."""
    identity = config.model_dump() | {"processes": world} | _flat(settings or {})
    return json.loads(json.dumps(identity, default=str))


def _flat(settings: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _resume(out: Path, model, optimizer, scheduler, identity: dict) -> int:
    ckpt = latest_checkpoint(out)
    if ckpt is None:
        return 0
    state = load_checkpoint(ckpt)
    _check_same_settings(ckpt, state["identity"], identity)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return state["step"]


class _StopRequest:
    requested = False


@contextlib.contextmanager
def _stop_at_step_end():
    """Turn the first Ctrl-C into a request to stop after the current step, so the checkpoint
    written then is exact; a second Ctrl-C stops at once."""
    request = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_same_settings(ckpt: Path, saved: dict, current: dict) -> None:
    # resuming under other settings would silently mix two different runs
    keys = list(saved) + [k for k in current if k not in saved]
    changed = {k: (saved.get(k), current.get(k)) for k in keys if saved.get(k) != current.get(k)}
    if changed:
        what = ", ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in changed.items())
        raise LmforgeError(
            f"{ckpt.parent.parent} holds an unfinished run with other settings ({what}).",
            "Run with the same settings to resume it, or pass --overwrite to start over.",
        )


def _save(accelerator, out, step, model, optimizer, scheduler, identity: dict) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state = {
            "model": accelerator.unwrap_model(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "identity": identity,
        }
        save_checkpoint(out, step, state)
    accelerator.wait_for_everyone()


def _progress(enabled: bool, description: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def result_dict(result: TrainResult) -> dict:
    return asdict(result)
