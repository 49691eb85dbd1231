"""Training: one loop on `accelerate` shared by every objective.

An objective says how a batch becomes a loss; the loop (`loop.train`) does the rest:
token-weighted gradient accumulation, AdamW, warmup + cosine, clipping, periodic eval,
atomic checkpoints and exact resume, metrics as JSONL, a progress bar with tokens/s.
"""
