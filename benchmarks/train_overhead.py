"""lmforge's training loop vs a bare PyTorch loop: same model, same batches, tokens/s ratio.

Target: ratio ≥ 0.95 (the loop's bookkeeping — token weighting, logging, progress bar,
checkpoints — costs at most 5%). Both loops run the same number of optimizer steps on the
same packed rows from the same initial weights; each is measured twice, interleaved, and the
best run of each counts, so the other core's noise does not decide the result.

Run: `python benchmarks/train_overhead.py [--size small] [--steps 30]`
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, LlamaConfig

from lmforge.models.init import SIZES
from lmforge.train.config import TrainConfig
from lmforge.train.loop import train
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import IGNORE, Example, pack_stream
from lmforge.train.schedule import warmup_cosine


def make_rows(n_rows: int, seq_len: int, vocab: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    docs, total = [], 0
    while total < n_rows * seq_len:
        n = int(torch.randint(20, 300, (1,), generator=g))
        docs.append(Example(torch.randint(5, vocab, (n,), generator=g).tolist(), [True] * n))
        total += n
    return pack_stream(docs, seq_len, 0)


def bare_loop(model, rows, config: TrainConfig) -> float:
    """The loop a person would write by hand: no logging, no checkpoints, no accelerate."""
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    sched = warmup_cosine(opt, config.warmup_steps, config.max_steps, config.min_lr_ratio)
    b = config.micro_batch_size
    start = time.perf_counter()
    for step in range(config.max_steps):
        idx = torch.arange(step * b, (step + 1) * b) % len(rows)
        batch = rows.select(idx)
        logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        loss = F.cross_entropy(
            logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten(), ignore_index=IGNORE
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    return config.max_steps * b * rows.input_ids.shape[1] / (time.perf_counter() - start)


def lmforge_loop(model, rows, config: TrainConfig) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        result = train(model, CausalLM(), rows, config, Path(tmp), description="lmforge")
    return result.tokens_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    args = parser.parse_args()

    vocab = 2048
    torch.manual_seed(0)
    config_kwargs = dict(SIZES[args.size].__dict__, max_position_embeddings=args.seq_len)
    base = AutoModelForCausalLM.from_config(LlamaConfig(vocab_size=vocab, **config_kwargs))
    rows = make_rows(args.steps * args.batch, args.seq_len, vocab)
    config = TrainConfig(
        max_steps=args.steps, micro_batch_size=args.batch, seq_len=args.seq_len,
        eval_fraction=0, save_every=10**9, lr=1e-3,
    )  # fmt: skip
    bare, ours = [], []
    for _ in range(2):
        bare.append(bare_loop(copy.deepcopy(base), rows, config))
        ours.append(lmforge_loop(copy.deepcopy(base), rows, config))
    params = sum(p.numel() for p in base.parameters())
    shape = f"{args.steps} steps × {args.batch} × {args.seq_len} tokens"
    print(f"model: {args.size} ({params / 1e6:.2f}M params), {shape}")
    for name, runs in (("bare PyTorch loop", bare), ("lmforge loop", ours)):
        each = ", ".join(f"{x:,.0f}" for x in runs)
        print(f"{name:18}: {max(runs):10,.0f} tokens/s  (runs: {each})")
    print(f"ratio lmforge / bare: {max(ours) / max(bare):.3f}  (target ≥ 0.95)")


if __name__ == "__main__":
    main()
