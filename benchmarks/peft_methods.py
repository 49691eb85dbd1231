"""Every `--peft` method on the lab world, from one pretrained base, after the same step budget.

For each method: trainable parameters, peak memory, training tokens/s, final training loss
and held-out accuracy on the lab world's short-answer questions (`lab-qa`, exact match,
answered greedily with the chat template: what `lmforge eval` and the quickstart measure).
A markdown table in the style of PEFT's own method comparison is printed at the end.

Each method runs in its own child process, so its peak memory is its own: peak RSS is the
child's `ru_maxrss` (Linux's VmHWM) right after training, and "over imports" subtracts the
child's RSS after importing torch/transformers/peft/lmforge, before loading the base.
Tokens/s counts non-padding tokens (what a step trains on), replayed from the loop's
deterministic row order, over the training loop's time. Every method trains the same number
of steps on the same rows per step with the same seed; the learning rate is per method
(`LR` below: usual values for each, not tuned here) unless `--lr` sets one for all.
QLoRA runs only where bitsandbytes' 4-bit kernels can (a CUDA GPU); elsewhere its row says why.

Run: `python benchmarks/peft_methods.py --base qs/pretrained --lab qs/lab [--steps 300]`
(e.g. the quickstart's workdir; `--methods lora,ia3` for a subset, `--limit 50` questions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = [
    "none", "head-only", "lora", "dora", "ia3", "prefix", "prompt", "ptuning",
    "llama-adapter", "bottleneck", "qlora",
]  # fmt: skip
LR = {
    "none": 2e-3, "head-only": 2e-3, "lora": 5e-3, "dora": 5e-3, "ia3": 2e-2, "prefix": 1e-2,
    "prompt": 3e-2, "ptuning": 1e-2, "llama-adapter": 1e-2, "bottleneck": 5e-3, "qlora": 5e-3,
}  # fmt: skip
MIB = 1024 * 1024


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(args) -> dict:
    """Train one method and measure it (runs in the child process)."""
    import peft  # noqa: F401  (imported before the baseline: not the method's memory)
    import torch
    from transformers import LlamaForCausalLM  # noqa: F401

    from lmforge.eval.models import LocalModel
    from lmforge.eval.run import run_task
    from lmforge.eval.task import load_task
    from lmforge.models.io import load_model, load_tokenizer
    from lmforge.train.config import TrainConfig
    from lmforge.train.methods import build_method, load_bottleneck
    from lmforge.train.order import RowOrder
    from lmforge.train.sft import chat_rows, sft

    torch.set_num_threads(args.threads)
    baseline = peak_rss()
    data = args.lab / "sft" / "train.jsonl"
    config = TrainConfig(
        max_steps=args.steps, micro_batch_size=args.batch, seq_len=args.seq_len,
        lr=args.lr or LR[args.one], warmup_steps=args.warmup, eval_fraction=0,
        save_every=10**9, precision="fp32", seed=0,
    )  # fmt: skip
    out = args.work / args.one
    metrics = sft(args.base, [data], out, config, peft=args.one)
    peak = peak_rss()

    method, tokenizer = build_method(args.one), load_tokenizer(args.base)
    rows, _ = chat_rows([data], tokenizer, args.seq_len, method.packs)
    order, tokens = RowOrder(len(rows), config.seed), 0
    for step in range(config.max_steps):
        for idx in order.micro_batches(step, config.micro_batch_size, config.grad_accum, 0, 1):
            tokens += int((rows.input_ids[idx] != tokenizer.pad_token_id).sum())

    model = trained_model(args.base, out, args.one, load_model, load_bottleneck).eval()
    task = load_task("lab-qa", args.lab)
    examples = task.examples[: args.limit]
    start = time.perf_counter()
    summary, _ = run_task(
        LocalModel(model, tokenizer), task, examples, True, 16, 16, lambda _: None
    )
    return {
        "method": args.one,
        "lr": config.lr,
        "trainable": metrics.get("trainable_parameters"),
        "total": metrics.get("total_parameters"),
        "percent": metrics.get("trainable_percent"),
        "peak_mib": peak / MIB,
        "over_imports_mib": (peak - baseline) / MIB,
        "tokens_per_s": tokens / max(metrics["train_seconds"], 1e-9),
        "train_seconds": metrics["train_seconds"],
        "final_loss": metrics["final_loss"],
        "accuracy": summary["metrics"]["exact_match"],
        "questions": summary["n"],
        "eval_seconds": time.perf_counter() - start,
    }


def trained_model(base: Path, out: Path, method: str, load_model, load_bottleneck):
    """The fine-tuned model as a user opens it: a full model, or the base plus its adapter."""
    if method in ("none", "head-only"):
        return load_model(out)[0]
    base_model = load_model(base)[0]
    if method == "bottleneck":
        return load_bottleneck(base_model, out)
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, out)


def run_child(method: str, args, work: Path) -> dict:
    """`run_one` in a fresh process, so that peak memory is this method's alone."""
    result = work / f"{method}.json"
    cmd = [
        sys.executable, __file__, "--one", method, "--result", str(result), "--work", str(work),
        "--base", str(args.base), "--lab", str(args.lab), "--steps", str(args.steps),
        "--batch", str(args.batch), "--seq-len", str(args.seq_len), "--warmup", str(args.warmup),
        "--threads", str(args.threads),
    ]  # fmt: skip
    if args.lr:
        cmd += ["--lr", str(args.lr)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"method": method, "skipped": "failed: " + " | ".join(tail)}
    return json.loads(result.read_text())


def table(rows: list[dict]) -> str:
    columns = [
        "method", "trainable params", "% of total", "peak RSS MiB (over imports)", "tokens/s",
        "train s", "final loss", "lab-qa accuracy", "lr",
    ]  # fmt: skip
    lines = ["| " + " | ".join(columns) + " |", "|---" + "|---:" * (len(columns) - 1) + "|"]
    notes = []
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['method']} " + "| — " * (len(columns) - 1) + "|")
            notes.append(f"{r['method']}: skipped, {r['skipped']}")
            continue
        cells = [
            r["method"], f"{r['trainable']:,}", f"{r['percent']:.2f}",
            f"{r['peak_mib']:,.0f} ({r['over_imports_mib']:,.0f})", f"{r['tokens_per_s']:,.0f}",
            f"{r['train_seconds']:.1f}", f"{r['final_loss']:.3f}", f"{r['accuracy']:.3f}",
            f"{r['lr']:g}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="pretrained model directory")
    parser.add_argument("--lab", type=Path, required=True, help="lab world directory")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16, help="rows per optimizer step")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--lr", type=float, help="one learning rate for every method")
    parser.add_argument("--limit", type=int, help="evaluate on the first N questions only")
    parser.add_argument("--threads", type=int, default=torch_threads())
    parser.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.result.write_text(json.dumps(run_one(args)))
        return

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    for path in (args.base / "config.json", args.lab / "sft" / "train.jsonl"):
        if not path.is_file():
            parser.error(f"{path} does not exist")
    from lmforge.train.methods.qlora import qlora_unavailable

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            why = qlora_unavailable() if method == "qlora" else None
            if why:
                print(f"{method}: skipped ({why})", flush=True)
                rows.append({"method": method, "skipped": why})
                continue
            print(f"{method}: training {args.steps} steps ...", flush=True)
            rows.append(run_child(method, args, Path(tmp)))
            print(f"{method}: {rows[-1]}", flush=True)
    shape = f"{args.steps} steps × {args.batch} rows × {args.seq_len} tokens"
    questions = next((r["questions"] for r in rows if "questions" in r), 0)
    print(f"\nbase: {args.base}, {shape}, lab-qa: {questions} questions, {args.threads} threads\n")
    print(table(rows))


def torch_threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS", "1"))


if __name__ == "__main__":
    main()
