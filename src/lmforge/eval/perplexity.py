"""Perplexity of a model on text: token, word and byte perplexity and bits per byte.

    lmforge eval perplexity --model M --text corpus.txt [--max-length 512] [--out DIR]
    perplexity(Path("M"), Path("docs.jsonl"))     # one document per record's "text"

Each document is scored on its own with lm-eval's `loglikelihood_rolling`: its tokens
(`scoring.tok_encode`) are cut into windows of at most `max_length` (default: the model's
context) predicted tokens by `rolling_windows`, a copy of lm-eval's `get_rolling_token_windows`
+ `make_disjoint_window`: the first window is conditioned on the prefix token (BOS, else EOS),
each later one on the tokens before it, and every token is predicted exactly once. With
`context_len` > 1 every window keeps at least that many tokens of context (a sliding window:
slower, lower perplexity). The windows of all documents are scored together by
`scoring.score_rows`, so the batch size does not change the result.

Corpus metrics weight documents by their size, as lm-eval's `weighted_perplexity` does:
token perplexity = exp(-sum LL / tokens), word perplexity = exp(-sum LL / words) (words are
lm-eval's `len(re.split(r"\\s+", text))`), byte perplexity = exp(-sum LL / UTF-8 bytes), and
bits per byte = -sum LL / bytes / ln 2. Word and byte figures compare across tokenizers;
token perplexity only between models that share one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lmforge.errors import LmforgeError
from lmforge.eval.scoring import Row, max_length, prefix_token_id, score_rows, tok_encode
from lmforge.jsonl import iter_jsonl, write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

METRICS = ("token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte")


def rolling_windows(
    tokens: list[int], prefix: int, max_len: int, context_len: int = 1
) -> list[tuple[list[int], list[int]]]:
    """(context, predicted) token windows covering `tokens`, each predicted exactly once."""
    if not 1 <= context_len <= max_len:
        raise LmforgeError(f"context_len {context_len} must be from 1 to max_length {max_len}.")
    if not tokens:
        return []
    pred_len = max_len - context_len + 1
    first = min(max_len, len(tokens))
    windows = [([prefix, *tokens[: first - 1]], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, pred_len)
        end = predicted + n
        windows.append((tokens[end - max_len - 1 : end - 1], tokens[end - n : end]))
        predicted += n
    # disjoint: the context stops where the predicted tokens begin
    return [(context[: len(context) - (len(pred) - 1)], pred) for context, pred in windows]


def document_rows(tokenizer, text: str, max_len: int, context_len: int = 1) -> list[Row]:
    tokens = tok_encode(tokenizer, text)
    windows = rolling_windows(tokens, prefix_token_id(tokenizer), max_len, context_len)
    return [(context + pred, len(pred)) for context, pred in windows]


def rolling_loglikelihoods(
    model,
    tokenizer,
    texts: list[str],
    batch_size: int = 8,
    max_len: int | None = None,
    context_len: int = 1,
    progress: Callable[[int, int], object] | None = None,
) -> list[tuple[float, int]]:
    """(log-likelihood, number of tokens) of each whole text, as lm-eval's rolling scoring.

    `progress(windows_done, windows_total)` is called after each batch."""
    limit = max_length(model, tokenizer)
    max_len = limit if max_len is None else max_len
    if not 1 <= max_len <= limit:
        raise LmforgeError(
            f"max_length {max_len} is not between 1 and the model's context ({limit} tokens)."
        )
    rows: list[Row] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        doc = document_rows(tokenizer, text, max_len, context_len)
        rows.extend(doc)
        owner.extend([i] * len(doc))

    def done(indices: list[int]) -> None:
        if progress is not None:
            progress(len(indices), len(rows))

    scored = score_rows(model, rows, batch_size, done)
    totals = [[0.0, 0] for _ in texts]
    for i, (loglik, _), (_, n) in zip(owner, scored, rows, strict=True):
        totals[i][0] += loglik
        totals[i][1] += n
    return [(loglik, n) for loglik, n in totals]


def count_words(text: str) -> int:
    return len(re.split(r"\s+", text))  # lm-eval's count_words, empty ends included


def corpus_metrics(loglik: float, tokens: int, words: int, n_bytes: int) -> dict[str, float]:
    def per(n: int) -> float:
        return -loglik / n if n else math.nan

    return {
        "token_perplexity": math.exp(per(tokens)) if tokens else math.nan,
        "word_perplexity": math.exp(per(words)) if words else math.nan,
        "byte_perplexity": math.exp(per(n_bytes)) if n_bytes else math.nan,
        "bits_per_byte": per(n_bytes) / math.log(2),
    }


def document_record(text: str, loglik: float, tokens: int) -> dict[str, Any]:
    """A document's sums and its own metrics (what the corpus figures add up)."""
    words, n_bytes = count_words(text), len(text.encode("utf-8"))
    return {"loglikelihood": loglik, "tokens": tokens, "words": words, "bytes": n_bytes,
            "scores": corpus_metrics(loglik, tokens, words, n_bytes)}  # fmt: skip


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Corpus totals and size-weighted metrics over document records."""
    sums = {k: sum(r[k] for r in records) for k in ("loglikelihood", "tokens", "words", "bytes")}
    return {"documents": len(records), **sums, **corpus_metrics(*sums.values())}


def run_rolling(model, tokenizer, task, examples, batch_size: int, advance) -> list[dict]:
    """Samples of a `loglikelihood_rolling` task (each example's "text" is one document)."""
    texts = [str(e.get("text", e.get("question", ""))) for e in examples]
    scored = rolling_loglikelihoods(
        model,
        tokenizer,
        texts,
        batch_size,
        progress=lambda n, total: advance(n * len(texts) / total),
    )
    samples = []
    for example, text, (loglik, tokens) in zip(examples, texts, scored, strict=True):
        samples.append({"task": task.name, "id": example["id"], "lang": example["lang"],
                        "prompt": text, **document_record(text, loglik, tokens)})  # fmt: skip
    return samples


def task_summary(task, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """A rolling task's summary: its metrics weighted by size, overall and per language."""
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_lang[sample["lang"]].append(sample)
    overall = summarize(samples)
    return {
        "kind": task.kind,
        "n": len(samples),
        "metrics": {m: overall[m] for m in task.metrics if m in overall},
        "chance": task.chance,
        "totals": overall,
        "by_lang": {
            lang: {m: v for m, v in summarize(group).items() if m in task.metrics}
            for lang, group in sorted(by_lang.items())
        },
    }


def read_documents(path: Path) -> list[str]:
    """A .jsonl file's "text" fields (one document each), or a text file as one document."""
    path = Path(path)
    if not path.is_file():
        raise LmforgeError(f"text file {path} does not exist.", "Check the path.")
    if path.suffix == ".jsonl":
        texts = []
        for n, record in enumerate(iter_jsonl(path, required=("text",)), 1):
            if not isinstance(record["text"], str):
                raise LmforgeError(f"{path}: record {n}'s 'text' is not a string.")
            texts.append(record["text"])
    else:
        try:
            texts = [path.read_text(encoding="utf-8")]
        except UnicodeDecodeError as e:
            raise LmforgeError(f"{path} is not UTF-8 text ({e}).") from None
    if not any(t.strip() for t in texts):
        raise LmforgeError(f"{path} holds no text.", "Give a text file or JSONL with 'text'.")
    return texts


def perplexity(
    model: Path,
    text: Path,
    out: Path | None = None,
    batch_size: int = 8,
    max_len: int | None = None,
    context_len: int = 1,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """`lmforge eval perplexity`: the corpus metrics of the model directory `model` on `text`."""
    from lmforge.models.io import load_model

    if batch_size < 1:
        raise LmforgeError(f"batch size {batch_size} is less than 1.", "Use 1 or more.")
    if context_len < 1 or (max_len is not None and not context_len <= max_len):
        raise LmforgeError(
            f"context_len {context_len} must be from 1 to max_length ({max_len}).",
            "Use 1 for lm-eval's rolling windows.",
        )
    texts = read_documents(text)
    if out is not None:
        out = prepare_out_dir(out, overwrite=overwrite)
    lm, tokenizer = load_model(model)
    limit = max_length(lm, tokenizer) if max_len is None else max_len
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, disable=not show_progress) as bar:
        job = bar.add_task("perplexity (windows)", total=None)
        advance = lambda n, total: bar.update(job, advance=n, total=total)  # noqa: E731
        scored = rolling_loglikelihoods(
            lm, tokenizer, texts, batch_size, limit, context_len, advance
        )
    records = [document_record(t, ll, n) for t, (ll, n) in zip(texts, scored, strict=True)]
    results = {"model": str(model), "text": str(text), "max_length": limit,
               "context_len": context_len, **summarize(records)}  # fmt: skip
    if out is not None:
        _write(out, results, records, {"model": Path(model), "text": Path(text)}, batch_size)
    return results


def _write(out: Path, results, records, inputs: dict[str, Path], batch_size: int) -> None:
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "results.json")
    write_jsonl(out / "documents.jsonl", [{"document": i, **r} for i, r in enumerate(records)])
    config = {k: results[k] for k in ("max_length", "context_len")} | {"batch_size": batch_size}
    write_manifest(out, "perplexity", config, inputs, {m: results[m] for m in METRICS})
