"""Scoring, following lm-evaluation-harness conventions so numbers compare with its own.

Log-likelihoods: the context and the continuation are tokenized as lm-eval's `HFLM` does
(`tok_encode`: the tokenizer's own special tokens unless the text already starts with BOS;
trailing spaces of the context move to the continuation; the continuation's tokens are
`enc(context + continuation)[len(enc(context)):]`; an empty context becomes the BOS, else EOS,
token), cut from the left to the model's length, then scored in batches, longest first.

Batching never changes a score, to the last bit on CPU: a row is right-padded to a width that
depends only on its own length (`padded_width`: a step of ~1/8 of it, at least `PAD_MIN`, so
rows sorted by length still fill batches), and a batch only holds rows of one width. Under
causal attention padding at the end is never attended to, so no mask is needed (lm-eval
passes none either), and a row's numbers depend on its tokens and width alone (attention
kernels round differently for other widths; the batch size does not matter).
Requests whose inputs are identical (one-token continuations of one context, as in most
multiple-choice tasks) share one forward pass, as lm-eval's logits cache does.
Multiple choice: `acc` picks the choice with the highest log-likelihood, `acc_norm` the
highest per character of the choice, `acc_bytes` per UTF-8 byte. Generation: exact match
after `normalize_answer` against the answer and its aliases, or the last integer of the output
for arithmetic (F1, regex extraction and pass@k are in `eval.metrics`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import torch

from lmforge.errors import LmforgeError

PAD_MIN = 4  # rows pad to a multiple of max(PAD_MIN, ~length / 8): <= 1/8 extra above 32
DEFAULT_MAX_LENGTH = 2048  # lm-eval's, for configs that name no context length
TOKENIZER_INFINITY = int(1e30)  # what transformers writes for "no limit" is about this
Row = tuple[list[int], int]  # (tokens, how many of the last tokens are scored)


def max_length(model, tokenizer=None) -> int:
    """The model's context in tokens, found where lm-eval's `resolve_max_length` looks."""
    config = getattr(model.config, "text_config", None) or model.config
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit is not None and limit < TOKENIZER_INFINITY else DEFAULT_MAX_LENGTH


def prefix_token_id(tokenizer) -> int:
    """What an empty context (or a document's first window) is conditioned on: BOS, else EOS."""
    bos = tokenizer.bos_token_id
    return bos if bos is not None else tokenizer.eos_token_id


def tok_encode(tokenizer, text: str) -> list[int]:
    """lm-eval's `HFLM.tok_encode`: the tokenizer's default special tokens, none when the text
    already starts with the BOS token's text (a rendered chat template, for instance)."""
    return _encode_many(tokenizer, [text])[text]


def _encode_many(tokenizer, texts, special: bool | None = None) -> dict[str, list[int]]:
    """Each distinct text tokenized once, in one batch call per special-token setting."""
    bos = tokenizer.decode([prefix_token_id(tokenizer)])
    groups: dict[bool, list[str]] = {True: [], False: []}
    for text in dict.fromkeys(texts):
        groups[special if special is not None else not (bos and text.startswith(bos))].append(text)
    encoded: dict[str, list[int]] = {}
    for flag, group in groups.items():
        if group:
            ids = tokenizer(group, add_special_tokens=flag)["input_ids"]
            encoded.update(zip(group, map(list, ids), strict=True))
    return encoded


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) split the way lm-eval splits them."""
    return encode_pairs(tokenizer, [(context, continuation)])[0]


def encode_pairs(tokenizer, requests: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """`encode_pair` of each request; texts shared by requests (a question's context) are
    tokenized once."""
    pairs = [_move_spaces(context, continuation) for context, continuation in requests]
    texts = [t for context, cont in pairs if context for t in (context, context + cont)]
    encoded = _encode_many(tokenizer, texts)
    bare = _encode_many(tokenizer, [cont for context, cont in pairs if not context], False)
    prefix = prefix_token_id(tokenizer)
    out = []
    for context, cont in pairs:
        if not context:  # lm-eval: the prefix token, unless the continuation starts with it
            ids = bare[cont]
            out.append(([prefix], ids) if not ids or ids[0] != prefix else (ids[:1], ids[1:]))
        else:
            context_ids = encoded[context]
            out.append((context_ids, encoded[context + cont][len(context_ids) :]))
    return out


def _move_spaces(context: str, continuation: str) -> tuple[str, str]:
    """Trailing spaces of the context belong to the continuation (lm-eval's `_encode_pair`)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        return context[:-n_spaces], context[-n_spaces:] + continuation
    return context, continuation


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
    limit = max_length(model, tokenizer)
    encoded = encode_pairs(tokenizer, requests)
    rows = [_row(*ids, req, limit) for ids, req in zip(encoded, requests, strict=True)]
    return score_rows(model, rows, batch_size, progress)


def _row(context_ids: list[int], cont_ids: list[int], request: tuple[str, str], limit: int) -> Row:
    """(tokens, number of continuation tokens); the last token is never input."""
    context, continuation = request
    if not cont_ids:
        raise LmforgeError(
            f"the continuation {continuation!r} gives no tokens after context {context[-40:]!r}."
        )
    if len(cont_ids) > limit:
        raise LmforgeError(
            f"a continuation of {len(cont_ids)} tokens is longer than the model's context "
            f"({limit} tokens)."
        )
    return (context_ids + cont_ids)[-(limit + 1) :], len(cont_ids)  # oldest context goes first


def score_rows(
    model,
    rows: list[Row],
    batch_size: int = 8,
    progress: Callable[[list[int]], object] | None = None,
) -> list[tuple[float, bool]]:
    """(sum of the log-probabilities of each row's last n tokens, are they all greedy)."""
    limit = max_length(model)
    shared: dict[tuple[int, ...], list[int]] = {}  # identical inputs run once
    for i, (tokens, _) in enumerate(rows):
        shared.setdefault(tuple(tokens[:-1]), []).append(i)
    inputs = sorted(shared, key=lambda x: (-len(x), x))  # longest first, then a fixed order
    results: list[tuple[float, bool]] = [(0.0, False)] * len(rows)
    for batch in _batches(inputs, batch_size, limit):
        logits = _forward(model, batch, padded_width(len(batch[0]), limit))
        done = []
        for r, key in enumerate(batch):
            for i in shared[key]:
                results[i] = _picked(logits[r], *rows[i])
            done.extend(shared[key])
        if progress is not None:
            progress(done)
    return results


def padded_width(n: int, limit: int) -> int:
    """The width a row of `n` input tokens is padded to, whatever batch it is in."""
    step = max(PAD_MIN, 1 << max(n.bit_length() - 4, 0))  # 4 below 64, 8 to 127, 16 to 255...
    return max(n, min(-(-n // step) * step, limit))


def _batches(inputs: list[tuple[int, ...]], size: int, limit: int):
    """Runs of at most `size` inputs of one padded width (inputs come longest first)."""
    batch: list[tuple[int, ...]] = []
    for x in inputs:
        width = padded_width(len(x), limit)
        if batch and (len(batch) == size or width != padded_width(len(batch[0]), limit)):
            yield batch
            batch = []
        batch.append(x)
    if batch:
        yield batch


def _forward(model, batch: list[tuple[int, ...]], width: int) -> torch.Tensor:
    input_ids = torch.zeros(len(batch), width, dtype=torch.long)
    for r, x in enumerate(batch):
        input_ids[r, : len(x)] = torch.tensor(x)
    device = next(model.parameters()).device
    with torch.inference_mode():
        return model(input_ids=input_ids.to(device)).logits


def _picked(logits: torch.Tensor, tokens: list[int], n_cont: int) -> tuple[float, bool]:
    # log-softmax of the scored positions only: the same numbers, without a (width x vocab)
    # copy per row (per position the reduction runs over the vocabulary alone)
    end = len(tokens) - 1
    logprobs = torch.log_softmax(logits[end - n_cont : end].float(), dim=-1).cpu()
    target = torch.tensor(tokens[-n_cont:])
    picked = logprobs.gather(1, target[:, None]).squeeze(1)
    return float(picked.sum()), bool((logprobs.argmax(dim=-1) == target).all())


def choice_scores(logliks: list[float], choices: list[str]) -> tuple[int, int]:
    """(choice picked by acc, choice picked by acc_norm = loglik per character)."""
    picked = choice_predictions(logliks, choices)
    return picked["acc"], picked["acc_norm"]


def choice_predictions(logliks: list[float], choices: list[str]) -> dict[str, int]:
    """The choice each metric picks: `acc` the highest log-likelihood, `acc_norm` per
    character, `acc_bytes` per UTF-8 byte of the choice (without the target delimiter, as in
    lm-eval); a tie goes to the first choice, as with numpy's argmax."""
    sizes = {
        "acc": [1] * len(choices),
        "acc_norm": [len(c) for c in choices],
        "acc_bytes": [len(c.encode("utf-8")) for c in choices],
    }
    return {
        metric: max(range(len(choices)), key=lambda i: logliks[i] / max(size[i], 1))
        for metric, size in sizes.items()
    }


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
