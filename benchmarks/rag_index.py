"""Indexing throughput and query latency of `lmforge.rag.Index`, against bare baselines.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rag_index.py [--docs 0] [--chunks 100000] \
        [--queries 100] [--skip-throughput]

Part 1, indexing throughput on real text: the Python docstring corpus of rag_quality.py
(`--docs` markdown files, default all), indexed from scratch by `Index.add`: read, hash, chunk,
embed with MiniLM, write to LanceDB, build BM25. Baseline: the bare embedder over the very same
chunk texts, in the same batches of 64 — the floor, as embedding dominates on a CPU. Printed:
chunks/s of both, and lmforge's share of the baseline's speed.

Part 2, query latency at `--chunks` chunks: synthetic chunks (120 words each, drawn from a
Zipf(1.1) vocabulary of 50,000 made-up words, with random unit vectors of 384 dims) written
straight into an index's store, then compacted and BM25-indexed as `Index.add` does. Embedding
100k real chunks would take an hour on a CPU and does not change what a search costs. Queries:
`--queries` random 4-word queries from the same vocabulary. Per mode, p50/p95 of
`Index.search(query, 10)`, which for dense and hybrid includes embedding the query with MiniLM.
Baselines in the same run: dense = the same query embedding + exact numpy dot-product top-10
over all vectors held in memory; bm25 = bm25s `get_scores` + top-10 on the same index. Printed
as ratios lmforge / baseline (hybrid against the sum of both baselines).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lmforge.rag import Index
from lmforge.rag.bm25 import tokens

DIM, WORDS_PER_CHUNK, VOCAB = 384, 120, 50_000


def throughput(root: Path, n_docs: int) -> None:
    from rag_quality import write_corpus  # the docstring corpus: benchmarks/ is on sys.path

    write_corpus(root, n_docs)
    index = Index(root / "idx")
    embed = index.embed  # loaded before the clock starts, as a long-running service would
    start = time.perf_counter()
    report = index.add(root / "docs", progress=True)
    seconds = time.perf_counter() - start
    _, texts = index.store.texts()
    start = time.perf_counter()
    for i in range(0, len(texts), 64):
        embed(texts[i : i + 64])
    bare = time.perf_counter() - start
    ours, base = len(texts) / seconds, len(texts) / bare
    print(f"indexing: {report.added} docs, {len(texts)} chunks in {seconds:.1f} s = "
          f"{ours:.1f} chunks/s; bare embedder {base:.1f} chunks/s; lmforge at "
          f"{ours / base:.2f}x of the embedding-only speed")  # fmt: skip


def synthetic_index(root: Path, n_chunks: int, rng: np.random.Generator) -> tuple[Index, list]:
    vocab = [f"w{i}x{rng.integers(1000)}" for i in range(VOCAB)]
    index = Index(root / "syn")
    batch = 10_000
    start = time.perf_counter()
    for first in range(0, n_chunks, batch):
        n = min(batch, n_chunks - first)
        ranks = np.minimum(rng.zipf(1.1, size=(n, WORDS_PER_CHUNK)), VOCAB) - 1
        vectors = rng.standard_normal((n, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows, docs = [], []
        for j in range(n):
            doc = f"doc{(first + j) // 10}"
            rows.append({"id": f"{doc}#{(first + j) % 10}", "doc_id": doc, "seq": j % 10,
                         "text": " ".join(vocab[r] for r in ranks[j]), "context": "",
                         "path": f"{doc}.txt", "title": doc, "page": None, "meta": ""})  # fmt: skip
            if (first + j) % 10 == 9 or j == n - 1:
                docs.append({"doc_id": doc, "path": f"{doc}.txt", "title": doc, "sha256": "",
                             "n_chunks": (first + j) % 10 + 1})  # fmt: skip
        index.store.write(docs, rows, vectors)
    index.optimize()
    print(f"latency: {len(index)} synthetic chunks written, compacted and BM25-indexed in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    return index, vocab


def percentiles(times: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(times) * 1000, [50, 95])
    return float(p50), float(p95)


def timed(fn, queries: list[str]) -> list[float]:
    fn(queries[0])  # warm caches
    out = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - start)
    return out


def latency(root: Path, n_chunks: int, n_queries: int) -> None:
    rng = np.random.default_rng(0)
    index, vocab = synthetic_index(root, n_chunks, rng)
    queries = [" ".join(vocab[int(r)] for r in rng.zipf(1.3, 4) % VOCAB) for _ in range(n_queries)]
    vectors = np.stack(index.store.chunks.to_arrow()["vector"].to_numpy(zero_copy_only=False))
    bm25, embed = index.bm25, index.embed

    def numpy_dense(q: str) -> None:
        scores = vectors @ embed([q])[0]
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]

    def bare_bm25(q: str) -> None:
        terms = [t for t in tokens(q) if t in bm25.retriever.vocab_dict]
        if terms:
            scores = bm25.retriever.get_scores(terms)
            np.argpartition(-scores, 10)[:10]

    base = {"dense": percentiles(timed(numpy_dense, queries)),
            "bm25": percentiles(timed(bare_bm25, queries))}  # fmt: skip
    base["hybrid"] = tuple(d + b for d, b in zip(base["dense"], base["bm25"], strict=True))
    print(f"query latency at {len(index)} chunks, {n_queries} queries, k=10 (ms):")
    for mode in ("dense", "bm25", "hybrid"):
        p50, p95 = percentiles(timed(lambda q, m=mode: index.search(q, 10, mode=m), queries))
        b50, b95 = base[mode]
        print(f"  {mode:>6}: p50 {p50:7.1f}  p95 {p95:7.1f} | baseline p50 {b50:6.1f} "
              f"p95 {b95:6.1f} | ratio p50 {p50 / b50:.2f}x p95 {p95 / b95:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=0, help="docstring documents (0: all)")
    parser.add_argument("--chunks", type=int, default=100_000, help="synthetic chunks")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    from transformers.utils import logging

    logging.disable_progress_bar()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_throughput:
            throughput(Path(tmp) / "real", args.docs)
        latency(Path(tmp), args.chunks, args.queries)


if __name__ == "__main__":
    main()
