"""Retrieval over an index: dense, BM25, hybrid (reciprocal rank fusion), rerank, filters.

- dense: the query's embedding against every chunk's, exact cosine (LanceDB flat scan);
- bm25: the Korean-aware BM25 of bm25.py;
- hybrid: both lists (each `depth` long) fused by reciprocal rank fusion, score =
  sum over lists of 1 / (60 + rank) (Cormack et al., 2009; 60 is their constant);
- rerank: the first stage's top `depth` passages re-scored by a cross-encoder from a local
  directory (sentence-transformers `CrossEncoder`), best first.

Filters narrow every mode before ranking: a dict {column: value or [values]} over
doc_id, path, title, page, seq, context, or a LanceDB SQL `where` string.
Every passage keeps the scores that found it in `metadata` (dense_score, bm25_score,
rrf_score, rerank_score), which is how `answer.py` decides whether anything relevant was found.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.rag.bm25 import Bm25
from lmforge.rag.store import FILTER_COLUMNS, Store, quote
from lmforge.retrieval import Passage

MODES = ("dense", "bm25", "hybrid")
RRF_K = 60
Filters = dict[str, Any] | str | None


def where_sql(filters: Filters) -> str | None:
    """A LanceDB `where` clause from a dict of column -> value (or list of values)."""
    if filters is None or isinstance(filters, str):
        return filters or None
    clauses = []
    for column, value in filters.items():
        if column not in FILTER_COLUMNS:
            raise LmforgeError(
                f"cannot filter on {column!r}.", f"Filter on {', '.join(FILTER_COLUMNS)}."
            )
        if isinstance(value, list | tuple | set):
            clauses.append(f"{column} IN ({', '.join(quote(v) for v in value)})")
        else:
            clauses.append(f"{column} = {quote(value)}")
    return " AND ".join(clauses) or None


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise LmforgeError(f"unknown retrieval mode {mode!r}.", f"Use one of {', '.join(MODES)}.")
    return mode


def rrf(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: id -> sum of 1 / (k + rank), ranks from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def passage(row: dict[str, Any], scores: dict[str, float]) -> Passage:
    meta = json.loads(row["meta"]) if row.get("meta") else {}
    metadata = {key: row[key] for key in ("doc_id", "path", "title", "page", "seq")}
    metadata |= {"heading": row["context"], "meta": meta, **scores}
    return Passage(row["id"], row["text"], next(iter(scores.values()), 0.0), metadata)


def dense(store: Store, embed, query: str, k: int, where: str | None) -> list[Passage]:
    vector = embed([query])[0]
    return [passage(row, {"dense_score": s}) for row, s in store.dense(vector, k, where)]


def sparse(store: Store, bm25: Bm25, query: str, k: int, where: str | None) -> list[Passage]:
    allowed = store.ids_where(where) if where else None
    hits = bm25.search(query, k, allowed)
    rows = store.rows([chunk_id for chunk_id, _ in hits])
    return [passage(rows[i], {"bm25_score": s}) for i, s in hits if i in rows]


def hybrid(
    store: Store, bm25: Bm25, embed, query: str, k: int, where: str | None, depth: int
) -> list[Passage]:
    """Dense and BM25 lists of `depth` each, fused by RRF; each passage keeps both scores."""
    lists = [dense(store, embed, query, depth, where), sparse(store, bm25, query, depth, where)]
    fused = rrf([[p.id for p in found] for found in lists])
    merged: dict[str, Passage] = {}
    for found in lists:
        for p in found:
            scores = (merged[p.id].metadata if p.id in merged else {}) | p.metadata
            merged[p.id] = Passage(p.id, p.text, fused[p.id], scores | {"rrf_score": fused[p.id]})
    best = sorted(merged.values(), key=lambda p: -p.score)
    return best[:k]


@lru_cache(maxsize=2)
def load_reranker(path: str):
    """A sentence-transformers CrossEncoder from a local directory (loaded once)."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise LmforgeError(
            f"reranker {path!r} is not a directory.",
            "Give a local cross-encoder directory (e.g. a saved ms-marco-MiniLM).",
        )
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(str(directory), device="cpu")
    except (OSError, ValueError) as e:
        raise LmforgeError(f"{directory} is not a cross-encoder model directory ({e}).") from None


def rerank(reranker, query: str, passages: list[Passage], k: int) -> list[Passage]:
    """Passages re-ordered by the cross-encoder's score of (query, heading + text)."""
    if not passages:
        return []
    pairs = [(query, _with_heading(p)) for p in passages]
    scores = reranker.predict(pairs, show_progress_bar=False, convert_to_numpy=True)
    rescored = [
        Passage(p.id, p.text, float(s), p.metadata | {"rerank_score": float(s)})
        for p, s in zip(passages, scores.reshape(len(passages), -1)[:, -1], strict=True)
    ]
    return sorted(rescored, key=lambda p: -p.score)[:k]


def _with_heading(p: Passage) -> str:
    heading = p.metadata.get("heading")
    return f"{heading}\n{p.text}" if heading else p.text
