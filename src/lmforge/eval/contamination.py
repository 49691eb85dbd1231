"""Is a task in the training data? Word n-gram overlap between each example and a corpus.

    report = check_contamination("my_task.yaml", [Path("curated/")], out=Path("contam/"))
    lmforge eval contamination --task my_task.yaml --corpus curated/ --out contam/

Each example's text (its prompt and its answer) becomes normalised word n-grams; the corpus
(curated shards: a curated directory's `kept/`, or any JSONL files with a `text` field) is
streamed one document at a time, and an example's overlap is the share of its n-grams found
anywhere in it. Only the task's n-grams are held in memory, as 64-bit hashes (a corpus of any
size costs the same); a hash collision is a ~2^-64 event per pair.

- Words: NFKC, casefolded, split at every change between Hangul and other letters or digits,
  punctuation dropped; a Korean eojeol also loses one trailing particle or copula
  (카모리는 / 카모리가 / 카모리이다 -> 카모리), so the same noun with another particle still
  matches. A light suffix strip, not a morphological analyser.
- n: 13 words (GPT-3's and lm-evaluation-harness's decontamination); an example shorter than
  n words uses `min_n` = 8-grams (GPT-3 lowered n to 8 for its short benchmarks), and one
  shorter than that must appear whole.
- Flagged: at least one shared n-gram and an overlap of at least `threshold` (default 0: any
  shared n-gram, GPT-3's rule; PaLM's is 8-grams with threshold 0.7).

Writes `contamination.json` (summary + one row per example), `flagged.jsonl` and
`clean.jsonl` (the task's own records that were not flagged: the clean subset) and the
manifest.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from lmforge.data.minhash import _splitmix64, _word_hash  # the n-gram hashing of dedup
from lmforge.errors import LmforgeError
from lmforge.eval.fewshot import target_text, user_text
from lmforge.eval.task import BUILTIN, DEFAULT_DATA, Task, load_task
from lmforge.jsonl import jsonl_files, write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
WORD = re.compile(rf"[{HANGUL}]+|(?:(?![{HANGUL}])[^\W_])+")
# particles and the copula, longest first; a suffix is stripped only when a stem remains
# fmt: off
PARTICLES = sorted((
    "에서는", "에게서", "으로는", "이라는", "입니다", "이었다", "에서", "에게", "으로", "라는",
    "이다", "였다", "까지", "부터", "처럼", "보다", "조차", "마저", "은", "는", "이", "가", "을",
    "를", "의", "에", "도", "로", "와", "과", "만", "다",
), key=len, reverse=True)
# fmt: on
# a particle written straight after Latin letters or digits ("GPU는", "3개를")
ATTACHED = re.compile(rf"(?<=[0-9a-z])(?:{'|'.join(PARTICLES)})(?![{HANGUL}])")
_BASE = np.uint64(0x100000001B3)
MAX_DOC_IDS = 3  # corpus documents named per flagged example


def words(text: str) -> list[str]:
    """The normalised words of `text` (module doc): what n-grams are made of."""
    text = ATTACHED.sub("", unicodedata.normalize("NFKC", text).casefold())
    return [_strip_particle(w) for w in WORD.findall(text)]


def _strip_particle(word: str) -> str:
    if "\uac00" <= word[0] <= "\ud7a3":
        for particle in PARTICLES:
            if word.endswith(particle) and len(word) > len(particle):
                return word[: -len(particle)]
    return word


def word_hashes(tokens: list[str]) -> np.ndarray:
    return np.fromiter(map(_word_hash, tokens), dtype=np.uint64, count=len(tokens))


def ngram_hashes(values: np.ndarray, n: int) -> np.ndarray:
    """Distinct 64-bit hashes of the n-grams of the word hashes `values` (none if too few)."""
    if values.size < n or n < 1:
        return np.empty(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(values, n)
    powers = _BASE ** np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wraps mod 2^64, on purpose
        grams = _splitmix64((windows * powers).sum(axis=1, dtype=np.uint64) + np.uint64(n))
    return np.unique(grams)


def example_text(task: Task, example: dict[str, Any]) -> str:
    """What a model would have memorised: the question (a YAML task's prompt without its
    template's own words, which a corpus would not share) and the answer."""
    question = example.get("content") or user_text(task, example, True)
    if task.kind == "loglikelihood_rolling":
        return question
    return f"{question} {target_text(example)}"


def example_grams(task: Task, n: int, min_n: int) -> list[tuple[int, np.ndarray]]:
    """(n used, n-gram hashes) of every example."""
    grams = []
    for example in task.examples:
        tokens = words(example_text(task, example))
        size = n if len(tokens) >= n else min(min_n, len(tokens))
        grams.append((size, ngram_hashes(word_hashes(tokens), size)))
    return grams


def corpus_files(paths: list[Path]) -> list[Path]:
    """JSONL files behind `paths`; a curated directory stands for its `kept/` documents."""
    files: list[Path] = []
    for path in map(Path, paths):
        kept = path / "kept"
        files.extend(jsonl_files(kept if kept.is_dir() else path))
    return files


def _documents(files: list[Path], counts: dict[str, int], advance) -> Iterator[tuple[str, str]]:
    """(id, text) of every readable record; unreadable lines are counted, not fatal."""
    for file in files:
        with file.open("rb") as f:
            for line_no, raw in enumerate(f, 1):
                advance(len(raw))
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                    text = record["text"]
                except (ValueError, KeyError, TypeError):
                    counts["skipped"] += 1
                    continue
                if not isinstance(text, str):
                    counts["skipped"] += 1
                    continue
                counts["documents"] += 1
                yield str(record.get("id", f"{file.name}:{line_no}")), text


def scan(
    grams: list[tuple[int, np.ndarray]], files: list[Path], show_progress: bool = True
) -> tuple[dict[int, dict[int, list[str]]], dict[str, int]]:
    """Stream the corpus: {n: {hash found: first corpus ids}} for the task's hashes, counts."""
    by_size: dict[int, list[np.ndarray]] = {}
    for size, hashes in grams:
        by_size.setdefault(size, []).append(hashes)
    wanted = {size: np.unique(np.concatenate(parts)) for size, parts in by_size.items() if size}
    found: dict[int, dict[int, list[str]]] = {size: {} for size in wanted}
    counts = {"documents": 0, "skipped": 0}
    total = sum(f.stat().st_size for f in files)
    columns = (TextColumn("contamination"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress) as progress:
        bar = progress.add_task("scan", total=total)
        for doc_id, text in _documents(files, counts, lambda b: progress.advance(bar, b)):
            values = word_hashes(words(text))
            for size, targets in wanted.items():
                doc = ngram_hashes(values, size)
                for value in doc[np.isin(doc, targets, assume_unique=True)].tolist():
                    ids = found[size].setdefault(value, [])
                    if len(ids) < MAX_DOC_IDS and doc_id not in ids:
                        ids.append(doc_id)
    return found, counts


def check_contamination(
    task: str,
    corpus: list[Path],
    out: Path | None = None,
    data: Path | None = None,
    n: int = 13,
    min_n: int = 8,
    threshold: float = 0.0,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Overlap of every example of `task` with the `corpus` (module doc); written to `out`."""
    if n < 1 or min_n < 1:
        raise LmforgeError(f"n-gram sizes must be 1 or more (n={n}, min_n={min_n}).")
    if not 0.0 <= threshold <= 1.0:
        raise LmforgeError(f"threshold {threshold} is not between 0 and 1.")
    loaded = load_task(task, data)
    files = corpus_files(corpus)
    if not files:
        raise LmforgeError(f"no corpus files found in {', '.join(map(str, corpus))}.")
    if out is not None:
        out = prepare_out_dir(out, overwrite=overwrite)
    grams = example_grams(loaded, n, min(min_n, n))
    found, counts = scan(grams, files, show_progress)
    rows = [
        _row(example, size, hashes, found.get(size, {}), threshold)
        for example, (size, hashes) in zip(loaded.examples, grams, strict=True)
    ]
    flagged = sum(r["flagged"] for r in rows)
    summary = {
        "task": loaded.name, "task_hash": loaded.hash, "n": n, "min_n": min(min_n, n),
        "threshold": threshold, "corpus_files": len(files), **counts, "examples": len(rows),
        "flagged": flagged, "flagged_ratio": flagged / len(rows),
        "mean_overlap": sum(r["overlap"] for r in rows) / len(rows),
    }  # fmt: skip
    if out is not None:
        _write(out, loaded, summary, rows, task, data, corpus)
    return {**summary, "rows": rows}


def _row(example, size: int, hashes: np.ndarray, found: dict[int, list[str]], threshold: float):
    hits = [found[h] for h in hashes.tolist() if h in found]
    overlap = len(hits) / hashes.size if hashes.size else 0.0
    docs = list(dict.fromkeys(doc for ids in hits for doc in ids))[:MAX_DOC_IDS]
    flagged = bool(hits) and overlap >= threshold
    return {"id": example["id"], "lang": example["lang"], "n": size, "ngrams": int(hashes.size),
            "matched": len(hits), "overlap": overlap, "flagged": flagged, "docs": docs}  # fmt: skip


def _write(out: Path, task: Task, summary, rows, name: str, data, corpus: list[Path]) -> None:
    text = json.dumps({**summary, "rows": rows}, indent=2, ensure_ascii=False) + "\n"
    (out / "contamination.json").write_text(text, encoding="utf-8")
    flagged = [r["flagged"] for r in rows]
    # the task's own records, so the clean subset is a task file of the same kind
    records = [e["meta"]["row"] if task.spec is not None else e for e in task.examples]
    write_jsonl(out / "flagged.jsonl", [r for r, bad in zip(records, flagged, strict=True) if bad])
    write_jsonl(
        out / "clean.jsonl", [r for r, bad in zip(records, flagged, strict=True) if not bad]
    )
    inputs: dict[str, Path] = {f"corpus:{i}": Path(p) for i, p in enumerate(corpus)}
    if name in BUILTIN:
        inputs["data"] = Path(data) if data is not None else DEFAULT_DATA
    elif task.source is not None:
        inputs["task"] = task.source
    config = {k: summary[k] for k in ("task", "n", "min_n", "threshold")}
    metrics = {k: summary[k] for k in ("examples", "flagged", "flagged_ratio", "mean_overlap")}
    write_manifest(out, "contamination", config, inputs, metrics)
