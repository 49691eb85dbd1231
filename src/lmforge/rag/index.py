"""`Index`: a RAG index on disk — add documents, search them, answer questions from them.

    from lmforge.rag import Index
    index = Index("idx", embedder="minilm", chunk_tokens=256, overlap=32)  # opens or creates
    index.add("my_docs/")                          # new and changed files only; IndexReport
    index.search("founding year of Haltaro", k=5)  # list[lmforge.retrieval.Passage]
    index.ask("When was Haltaro founded?", model="quickstart/sft")  # Answer with citations
    index.delete(["old.md"])

An index remembers its embedder (and the dimension it gave), chunk size, overlap and token
counter in index.json; opening it with another embedder or other chunk settings is refused
before anything is loaded. `search(query, k)` makes an index a `lmforge.retrieval.Retriever`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lmforge.embed import load_embedder
from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend
from lmforge.rag import answer as answering
from lmforge.rag import search as retrieval
from lmforge.rag.bm25 import Bm25
from lmforge.rag.chunking import check_sizes, token_counter
from lmforge.rag.ingest import IndexReport, Ingest
from lmforge.rag.loaders import MAX_FILE_MB, SourceDoc, iter_files
from lmforge.rag.store import FORMAT, Store, read_config, write_config
from lmforge.retrieval import Passage
from lmforge.runs import PARTIAL

DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP = 256, 32


def embedder_spec(embedder: str | None) -> str:
    """The name an index records for an embedder, without loading it."""
    spec = embedder or "minilm"
    if spec == "tfidf":
        raise LmforgeError(
            "the tfidf embedder is fitted to one fixed corpus, so an index could not grow.",
            "Use the default minilm, a sentence-transformers directory, or --mode bm25.",
        )
    return spec if spec == "minilm" else str(Path(spec).expanduser().resolve())


class Index:
    """An index directory (see `lmforge.rag.store` for its layout)."""

    def __init__(
        self, path: str | Path, embedder: str | None = None, *, chunk_tokens: int | None = None,
        overlap: int | None = None, tokenizer: str | Path | None = None, create: bool = True,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        config = read_config(self.path)
        if config is None:
            if not create:
                raise LmforgeError(
                    f"{self.path} is not a RAG index (no index.json).",
                    "Build one first: lmforge rag index --docs DIR --index " + str(self.path),
                )
            config = self._create(embedder, chunk_tokens, overlap, tokenizer)
        else:
            self._check(config, embedder, chunk_tokens, overlap, tokenizer)
        self.config = config
        self._embed = None
        self._counter = None
        self._bm25: Bm25 | None = None
        self._bm25_stamp = -1
        self.store = Store(self.path, config["dim"])
        if (self.path / PARTIAL).exists():  # the last run stopped midway: drop its half-work
            self.store.repair()

    # -- opening ---------------------------------------------------------------------------

    def _create(self, embedder, chunk_tokens, overlap, tokenizer) -> dict[str, Any]:
        spec = embedder_spec(embedder)
        chunk_tokens = chunk_tokens or DEFAULT_CHUNK_TOKENS
        overlap = DEFAULT_OVERLAP if overlap is None else overlap
        check_sizes(chunk_tokens, overlap)
        if self.path.is_file() or (
            self.path.is_dir() and any(self.path.iterdir()) and not (self.path / PARTIAL).exists()
        ):
            raise LmforgeError(
                f"{self.path} exists and is not an index.", "Choose a new or empty --index."
            )
        embed = load_embedder(spec)
        counter = token_counter(embed, tokenizer)
        self.path.mkdir(parents=True, exist_ok=True)
        dim = int(embed(["dim"]).shape[1])
        config = {"format": FORMAT, "embedder": spec, "dim": dim, "chunk_tokens": chunk_tokens,
                  "overlap": overlap, "tokens": counter.name}  # fmt: skip
        write_config(self.path, config)
        return config

    def _check(self, config, embedder, chunk_tokens, overlap, tokenizer) -> None:
        if config.get("format") != FORMAT:
            raise LmforgeError(f"{self.path} has index format {config.get('format')}.")
        if embedder is not None and embedder_spec(embedder) != config["embedder"]:
            raise LmforgeError(
                f"{self.path} was built with embedder {config['embedder']} ({config['dim']} "
                f"dims), not {embedder}; its vectors cannot be compared with another model's.",
                f"Leave out --embedder (or pass {config['embedder']}), or build a new index.",
            )
        asked = {"chunk_tokens": chunk_tokens, "overlap": overlap}
        if tokenizer is not None:
            asked["tokens"] = f"tokenizer:{Path(tokenizer).resolve()}"
        for key, value in asked.items():
            if value is not None and value != config[key]:
                raise LmforgeError(
                    f"{self.path} was built with {key} = {config[key]}, not {value}.",
                    "Leave the option out to keep the index's setting, or build a new index.",
                )

    @property
    def embed(self):
        if self._embed is None:
            self._embed = load_embedder(self.config["embedder"])
            dim = int(self._embed(["dim"]).shape[1])
            if dim != self.config["dim"]:
                raise LmforgeError(
                    f"embedder {self.config['embedder']} now gives {dim} dims; the index holds "
                    f"{self.config['dim']}. The model changed since the index was built.",
                    "Rebuild the index.",
                )
        return self._embed

    @property
    def counter(self):
        if self._counter is None:
            recorded = self.config["tokens"]
            tokenizer = recorded.split(":", 1)[1] if recorded.startswith("tokenizer:") else None
            self._counter = token_counter(self.embed, tokenizer)
        return self._counter

    # -- writing ---------------------------------------------------------------------------

    def add(
        self, docs: str | Path | Iterable[SourceDoc], *, progress: bool = False,
        max_file_mb: float = MAX_FILE_MB, prune: bool = False,
    ) -> IndexReport:  # fmt: skip
        """Index a file or folder (or SourceDoc objects); with `prune`, drop vanished ones."""
        if isinstance(docs, str | Path):
            items: list = iter_files(Path(docs), max_file_mb, exclude=self.path)
        else:
            items = list(docs)
        (self.path / PARTIAL).touch()
        sizes = (self.config["chunk_tokens"], self.config["overlap"])
        run = Ingest(self.store, self.embed, self.counter, sizes)
        report = run.run(items, len(items), progress)
        if prune:
            gone = sorted(set(run.known) - run.seen)
            self.store.delete(gone)
            report.deleted = len(gone)
        self._finish(report.changed)
        return report

    def delete(self, doc_ids: str | list[str]) -> int:
        """Remove documents by id; returns how many there were."""
        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        present = [d for d in ids if d in self.store.known()]
        (self.path / PARTIAL).touch()
        self.store.delete(present)
        self._finish(bool(present))
        return len(present)

    def _finish(self, changed: bool) -> None:
        if changed:
            self.optimize()
        self.bm25  # noqa: B018 - rebuilt now if stale, so searches start fast
        (self.path / PARTIAL).unlink(missing_ok=True)

    def optimize(self) -> None:
        """Compact the tables (many small appends scan slowly) and rebuild BM25 if stale."""
        self.store.compact()
        self.bm25  # noqa: B018

    @property
    def bm25(self) -> Bm25:
        """The BM25 index, rebuilt (and saved) if the chunks changed since it was built."""
        version = self.store.version
        if self._bm25 is not None and self._bm25_stamp == version:
            return self._bm25
        loaded = Bm25.load(self.path / "bm25")
        if loaded is not None and loaded[1] == version:
            self._bm25, self._bm25_stamp = loaded
        else:
            self._bm25, self._bm25_stamp = Bm25.build(*self.store.texts()), version
            self._bm25.save(self.path / "bm25", version)
        return self._bm25

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.store.count()

    def documents(self) -> list[dict[str, Any]]:
        return sorted(self.store.documents_rows(), key=lambda r: r["doc_id"])

    def search(
        self, query: str, k: int = 5, *, mode: str = "hybrid",
        filters: retrieval.Filters = None, rerank: str | Path | None = None,
        depth: int | None = None,
    ) -> list[Passage]:  # fmt: skip
        """The k best chunks for `query`, best first (a `lmforge.retrieval.Retriever`)."""
        retrieval.check_mode(mode)
        if k < 1:
            raise LmforgeError(f"k = {k}; ask for at least one passage.")
        where = retrieval.where_sql(filters)
        depth = max(depth or 40, k)
        reranker = retrieval.load_reranker(str(rerank)) if rerank else None
        first = depth if reranker else k
        if mode == "dense":
            found = retrieval.dense(self.store, self.embed, query, first, where)
        elif mode == "bm25":
            found = retrieval.sparse(self.store, self.bm25, query, first, where)
        else:
            found = retrieval.hybrid(self.store, self.bm25, self.embed, query, first, where, depth)
        return retrieval.rerank(reranker, query, found, k) if reranker else found

    def ask(
        self, question: str, model: str | Path | Backend, *, k: int = 5, mode: str = "hybrid",
        filters: retrieval.Filters = None, rerank: str | Path | None = None,
        chat: str = "auto", max_tokens: int = 256, min_dense: float = answering.MIN_DENSE,
        min_bm25: float = answering.MIN_BM25,
    ) -> answering.Answer:  # fmt: skip
        """Retrieve k chunks and answer from them with numbered citations (or refuse)."""
        from lmforge.infer.backends import load_backend

        backend = model if isinstance(model, Backend) else load_backend(model)
        passages = self.search(question, k, mode=mode, filters=filters, rerank=rerank)
        return answering.answer(
            backend, question, passages, mode=chat, max_tokens=max_tokens,
            min_dense=min_dense, min_bm25=min_bm25,
        )  # fmt: skip
