"""lmforge SFT vs TRL's `SFTTrainer`: same model, data, batch, steps and schedule; tokens/s.

Target: ratio lmforge / TRL ≥ 1.0. Both fine-tune the same initial weights (a model built by
`lmforge model init` for a tokenizer trained on the lab world) on the lab world's
`sft/train.jsonl` (chat records), loss on the assistant's tokens only, conversations packed
whole into rows of `--seq-len` tokens (lmforge: `pack_whole`; TRL: `packing=True`,
best-fit-decreasing, padding-free), `--batch` rows per optimizer step, fp32 on CPU, AdamW
(β = 0.9, 0.95, weight decay 0.1), warm-up then cosine to 10% of `--lr`, gradient clipping 1.0,
no evaluation and no checkpoints during training.

Tokens are counted the same way for both: tokens that are not padding, i.e. what a step
actually trains on (lmforge: its rows' non-pad tokens, replayed from its deterministic row
order; TRL: its own `num_tokens`, which for padding-free batches is exactly that).
Time is the training loop only (model loading and tokenization excluded on both sides).
Each trainer runs `--repeats` times, interleaved; the best run of each counts.

Run: `python benchmarks/train_vs_trl.py [--size small] [--steps 30] [--lab DIR]`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from lmforge.models.init import SIZES


@dataclass
class Run:
    tokens: int
    seconds: float
    final_loss: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


def prepare(workdir: Path, lab: Path | None, size: str, vocab: int) -> tuple[Path, Path]:
    """(model directory, chat data): the lab world, a tokenizer trained on it, a fresh model."""
    from lmforge.lab.generate import generate_lab
    from lmforge.models.init import init_model
    from lmforge.tokenizer.train import train_tokenizer

    if lab is None:
        lab = workdir / "lab"
        generate_lab(lab, seed=0, size="small")
    train_tokenizer([lab / "raw"], workdir / "tokenizer", vocab_size=vocab)
    init_model(workdir / "tokenizer", workdir / "model", size=size, seed=0)
    return workdir / "model", lab / "sft" / "train.jsonl"


def lmforge_sft(model_dir: Path, data: Path, args, out: Path) -> Run:
    from lmforge.models.io import load_tokenizer
    from lmforge.train.config import TrainConfig
    from lmforge.train.sft import chat_rows, sft

    config = TrainConfig(
        max_steps=args.steps, micro_batch_size=args.batch, seq_len=args.seq_len, lr=args.lr,
        warmup_steps=args.warmup, eval_fraction=0, save_every=10**9, precision="fp32", seed=0,
    )  # fmt: skip
    metrics = sft(model_dir, [data], out, config)
    rows, _ = chat_rows([data], load_tokenizer(model_dir), args.seq_len)
    tokens = non_pad_tokens(rows, config, load_tokenizer(model_dir).pad_token_id)
    return Run(tokens, metrics["train_seconds"], metrics["final_loss"])


def non_pad_tokens(rows, config, pad_id: int) -> int:
    """Non-padding tokens in the rows the loop trained, replayed from its row order."""
    from lmforge.train.order import RowOrder

    order = RowOrder(len(rows), config.seed)
    total = 0
    for step in range(config.max_steps):
        for idx in order.micro_batches(step, config.micro_batch_size, config.grad_accum, 0, 1):
            total += int((rows.input_ids[idx] != pad_id).sum())
    return total


def trl_sft(model_dir: Path, data: Path, args, out: Path) -> Run:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from lmforge.train.chat_data import load_chats

    class Clock(TrainerCallback):
        """The training loop's time: from its start to its end, as lmforge's loop measures."""

        def on_train_begin(self, *_, **__):
            self.start = time.perf_counter()

        def on_train_end(self, *_, **__):
            self.seconds = time.perf_counter() - self.start

    dataset = Dataset.from_list([{"messages": m} for m in load_chats([data])])
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = SFTConfig(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch,
        learning_rate=args.lr, lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=args.warmup, weight_decay=0.1,
        adam_beta1=0.9, adam_beta2=0.95, max_grad_norm=1.0, max_length=args.seq_len,
        packing=True, packing_strategy="bfd", assistant_only_loss=True, logging_steps=1,
        save_strategy="no", eval_strategy="no", report_to="none", use_cpu=True, bf16=False,
        fp16=False, seed=0, dataloader_num_workers=0,
    )  # fmt: skip
    clock = Clock()
    trainer = SFTTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
        callbacks=[clock],
    )  # fmt: skip
    trainer.train()
    logged = [r for r in trainer.state.log_history if "loss" in r]
    return Run(int(logged[-1]["num_tokens"]), clock.seconds, float(logged[-1]["loss"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16, help="rows per optimizer step")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--lab", type=Path, help="a lab world directory (default: generate one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir, data = prepare(work, args.lab, args.size, args.vocab)
        ours, theirs = [], []
        for i in range(args.repeats):
            ours.append(lmforge_sft(model_dir, data, args, work / f"lmforge-{i}"))
            theirs.append(trl_sft(model_dir, data, args, work / f"trl-{i}"))
        weights = load_file(model_dir / "model.safetensors")  # a tied head is stored once
        params = sum(t.numel() for t in weights.values())
    import trl

    shape = f"{args.steps} steps × {args.batch} rows × {args.seq_len} tokens"
    print(f"\nmodel: {args.size} ({params / 1e6:.2f}M params), {shape}, trl {trl.__version__}")
    for name, runs in (("lmforge sft", ours), ("TRL SFTTrainer", theirs)):
        best = max(runs, key=lambda r: r.tokens_per_s)
        each = ", ".join(f"{r.tokens_per_s:,.0f}" for r in runs)
        print(
            f"{name:15}: {best.tokens_per_s:10,.0f} non-pad tokens/s  (runs: {each}; "
            f"{best.tokens:,} tokens)  final loss {best.final_loss:.4f}"
        )
    ratio = max(r.tokens_per_s for r in ours) / max(r.tokens_per_s for r in theirs)
    print(f"ratio lmforge / TRL: {ratio:.3f}  (target ≥ 1.0)")


if __name__ == "__main__":
    main()
