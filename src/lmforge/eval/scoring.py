"""Scoring, following lm-evaluation-harness conventions so numbers compare with its own.

Log-likelihoods: the context and the continuation are tokenized as lm-eval's `_encode_pair`
does (trailing spaces of the context move to the continuation; the continuation's tokens are
`enc(context + continuation)[len(enc(context)):]`; no special tokens), then scored in batches
with right padding, longest first. Multiple choice: `acc` picks the choice with the highest
log-likelihood, `acc_norm` the highest per character of the choice. Generation: exact match
after `normalize_answer` against the answer and its aliases, or the last integer of the output
for arithmetic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import torch

from lmforge.errors import LmforgeError


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) split the way lm-eval splits them."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = _encode(tokenizer, context + continuation)
    if not context:  # lm-eval scores an empty context after the end-of-text token
        bos = tokenizer.bos_token_id
        return [bos if bos is not None else tokenizer.eos_token_id], whole
    context_ids = _encode(tokenizer, context)
    return context_ids, whole[len(context_ids) :]


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def loglikelihoods(
    model,
    tokenizer,
    requests: list[tuple[str, str]],
    batch_size: int = 8,
    progress: Callable[[list[int]], object] | None = None,
) -> list[tuple[float, bool]]:
    """(sum of log P(continuation | context), is_greedy) for each (context, continuation).

    `progress(indices)` is called with the request indices done after each batch.
    """
    if batch_size < 1:
        raise LmforgeError(f"batch size {batch_size} is less than 1.")
    limit = getattr(model.config, "max_position_embeddings", None)
    rows = [_row(tokenizer, context, cont, limit) for context, cont in requests]
    order = sorted(range(len(rows)), key=lambda i: (-len(rows[i][0]), i))
    results: list[tuple[float, bool]] = [(0.0, False)] * len(rows)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for i, result in zip(chunk, _score_batch(model, [rows[i] for i in chunk]), strict=True):
            results[i] = result
        if progress is not None:
            progress(chunk)
    return results


def _row(tokenizer, context: str, continuation: str, limit: int | None) -> tuple[list[int], int]:
    """(model input ids, number of continuation tokens); the last token is never input."""
    context_ids, cont_ids = encode_pair(tokenizer, context, continuation)
    if not cont_ids:
        raise LmforgeError(
            f"the continuation {continuation!r} gives no tokens after context {context[-40:]!r}."
        )
    tokens = context_ids + cont_ids
    if limit is not None and len(tokens) - 1 > limit:
        if len(cont_ids) > limit:
            raise LmforgeError(
                f"a continuation of {len(cont_ids)} tokens is longer than the model's context "
                f"({limit} tokens)."
            )
        tokens = tokens[-(limit + 1) :]  # drop the oldest context tokens, as lm-eval does
    return tokens, len(cont_ids)


def _score_batch(model, rows: list[tuple[list[int], int]]) -> list[tuple[float, bool]]:
    inputs = [tokens[:-1] for tokens, _ in rows]
    width = max(len(x) for x in inputs)
    input_ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for r, x in enumerate(inputs):
        input_ids[r, : len(x)] = torch.tensor(x)
        mask[r, : len(x)] = 1
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
    logprobs = torch.log_softmax(logits, dim=-1)
    results = []
    for r, (tokens, n_cont) in enumerate(rows):
        end = len(tokens) - 1
        positions = logprobs[r, end - n_cont : end]
        target = torch.tensor(tokens[-n_cont:])
        picked = positions.gather(1, target[:, None]).squeeze(1)
        greedy = bool((positions.argmax(dim=-1) == target).all())
        results.append((float(picked.sum()), greedy))
    return results


def choice_scores(logliks: list[float], choices: list[str]) -> tuple[int, int]:
    """(choice picked by acc, choice picked by acc_norm = loglik per character)."""
    best = max(range(len(choices)), key=lambda i: logliks[i])
    best_norm = max(range(len(choices)), key=lambda i: logliks[i] / max(len(choices[i]), 1))
    return best, best_norm


def normalize_answer(text: str) -> str:
    """Casefold, drop punctuation (any script's, CJK/Korean included), collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if ch.isspace() else ch for ch in text if not _is_punctuation(ch))
    return " ".join(text.split())


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


STOP = "Question:"  # a completion prompt's model goes on to ask the next question


def answer_text(output: str, answer_match: str = "exact") -> str:
    """The part of a generation that is scored.

    Cut where the model starts a new question (lm-eval's `until`); for exact match keep the
    first non-empty line, for numeric match all of it (its last integer counts).
    """
    output = output.split(STOP, 1)[0].strip()
    if answer_match == "numeric":
        return output
    return next((line.strip() for line in output.splitlines() if line.strip()), "")


def exact_match(prediction: str, answers: list[str]) -> bool:
    target = normalize_answer(prediction)
    return any(target == normalize_answer(a) for a in answers)


LAST_INTEGER = re.compile(r"-?\d+")


def last_integer(text: str) -> int | None:
    """The last integer written in `text` (thousands separators allowed), or None."""
    found = LAST_INTEGER.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text))
    return int(found[-1]) if found else None


def numeric_match(prediction: str, answer: str) -> bool:
    value = last_integer(prediction)
    return value is not None and value == last_integer(answer)
