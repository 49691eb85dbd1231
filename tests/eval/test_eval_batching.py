"""Batching never changes a score: per-sample log-likelihoods are bit-identical at every batch
size (CPU fp32), identical inputs share one forward pass, and padding is never attended to."""

from __future__ import annotations

import random

import pytest
import torch

from lmforge.eval.perplexity import rolling_loglikelihoods
from lmforge.eval.scoring import (
    encode_pair,
    loglikelihoods,
    max_length,
    padded_width,
    score_rows,
)
from lmforge.models.io import load_model

WORDS = ("the", "town", "of", "kamori", "lies", "in", "the", "velden", "region", "and", "its",
         "main", "export", "is", "copper")  # fmt: skip
KO = ("카모리는", "벨덴", "지방의", "마을이다", "주요", "수출품은", "구리이다")


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir)


def requests(n: int = 40, seed: int = 0) -> list[tuple[str, str]]:
    """Contexts of 1 to 300 words (some longer than the model), shared contexts with
    one-token choices, Korean, a context ending in a space, and an empty context."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = KO if i % 5 == 0 else WORDS
        context = " ".join(rng.choice(words) for _ in range(rng.choice([1, 3, 9, 30, 80, 300])))
        out.append((context, " " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))))
    shared = "Question: where does kamori lie?\nAnswer:"
    out += [(shared, f" {w}") for w in ("copper", "town", "region", "export")]
    out += [("the town of ", "kamori"), ("", "the town of kamori")]
    return out


def test_loglikelihoods_are_identical_at_batch_sizes_1_and_8(tiny):
    model, tokenizer = tiny
    reqs = requests()
    one = loglikelihoods(model, tokenizer, reqs, batch_size=1)
    eight = loglikelihoods(model, tokenizer, reqs, batch_size=8)
    assert one == eight  # exact: values and greedy flags, in input order
    assert loglikelihoods(model, tokenizer, reqs, batch_size=3) == one
    assert len({value for value, _ in one}) > len(reqs) * 0.9  # real, distinct numbers


def test_order_of_requests_does_not_change_a_score(tiny):
    model, tokenizer = tiny
    reqs = requests(20, seed=1)
    forward = loglikelihoods(model, tokenizer, reqs, batch_size=8)
    backward = loglikelihoods(model, tokenizer, reqs[::-1], batch_size=8)
    assert backward[::-1] == forward


def test_padding_is_not_attended_to(tiny):
    """A row scored alone, at its exact length, with no padding at all, is within float
    rounding of the same row padded in a batch (other widths round differently: ~1e-6)."""
    model, tokenizer = tiny
    reqs = requests(12, seed=2)
    batched = loglikelihoods(model, tokenizer, reqs, batch_size=8)
    limit = max_length(model, tokenizer)
    for (context, continuation), (value, _) in zip(reqs, batched, strict=True):
        context_ids, cont_ids = encode_pair(tokenizer, context, continuation)
        tokens = (context_ids + cont_ids)[-(limit + 1) :]
        with torch.no_grad():
            logits = model(torch.tensor([tokens[:-1]])).logits[0].double()
        logprobs = torch.log_softmax(logits, -1)[-len(cont_ids) :]
        alone = float(logprobs.gather(1, torch.tensor(cont_ids)[:, None]).sum())
        assert value == pytest.approx(alone, abs=1e-4)


def test_identical_inputs_share_one_forward_pass(tiny):
    model, tokenizer = tiny
    context = "Question: what is the main export of kamori?\nAnswer:"
    choices = [" copper", " town", " region", " export"]
    assert all(len(encode_pair(tokenizer, context, c)[1]) == 1 for c in choices)
    rows_seen: list[int] = []
    hook = model.register_forward_hook(lambda m, args, kw, out: rows_seen.append(
        kw["input_ids"].shape[0]), with_kwargs=True)  # fmt: skip
    try:
        scored = loglikelihoods(model, tokenizer, [(context, c) for c in choices], batch_size=8)
    finally:
        hook.remove()
    assert rows_seen == [1]  # four one-token choices of one context: one row
    alone = [loglikelihoods(model, tokenizer, [(context, c)])[0] for c in choices]
    assert scored == alone


def test_rows_are_padded_to_their_own_width(tiny):
    model, _ = tiny
    widths: list[int] = []
    hook = model.register_forward_hook(lambda m, args, kw, out: widths.append(
        kw["input_ids"].shape[1]), with_kwargs=True)  # fmt: skip
    inputs = (3, 9, 10, 17, 40, 200)
    rows = [(list(range(5, 6 + n)), 1) for n in inputs]  # inputs of n tokens
    try:
        score_rows(model, rows, batch_size=8)
    finally:
        hook.remove()
    assert [padded_width(n, 256) for n in inputs] == [4, 12, 12, 20, 40, 208]
    assert sorted(widths) == [4, 12, 20, 40, 208]  # 9 and 10 share a width; no others mix
    assert padded_width(250, 256) == 256 and padded_width(256, 256) == 256  # never past the model


def test_rolling_loglikelihoods_are_identical_at_batch_sizes_1_and_8(tiny):
    model, tokenizer = tiny
    rng = random.Random(3)
    texts = [" ".join(rng.choice(WORDS) for _ in range(n)) for n in (3, 40, 120, 700)]
    one = rolling_loglikelihoods(model, tokenizer, texts, batch_size=1, max_len=32)
    eight = rolling_loglikelihoods(model, tokenizer, texts, batch_size=8, max_len=32)
    assert one == eight
    assert [n for _, n in one] == [len(tokenizer(t)["input_ids"]) for t in texts]
