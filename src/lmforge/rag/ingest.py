"""Adding documents to an index: read, skip what is unchanged, chunk, embed in batches, store.

A file whose content hash matches the one recorded for its document id is not read again, so
rerunning `rag index` after an interruption (or after editing a few files) only does the work
that is left: new and changed documents. Documents are written in batches of about
`BATCH_CHUNKS` chunks, each batch all its chunks first and then its document rows (see
store.py), so at most one batch is redone after a crash. Progress shows on stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lmforge.rag.chunking import Chunk, Counter, chunk_text
from lmforge.rag.loaders import Skipped, SourceDoc, SourceFile, load_file
from lmforge.rag.store import Store

BATCH_CHUNKS = 512  # chunks per write: big enough for few LanceDB fragments, small to redo
EMBED_BATCH = 64


@dataclass
class IndexReport:
    """What one indexing run did; every input is added, updated, unchanged or skipped."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def counts(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "deleted": self.deleted, "skipped": len(self.skipped), "chunks_added": self.chunks,
            "seconds": round(self.seconds, 2),
            "chunks_per_s": round(self.chunks / self.seconds, 1) if self.seconds else None,
        }  # fmt: skip

    def summary(self) -> str:
        c = self.counts()
        return (
            f"{c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['deleted']} deleted, {c['skipped']} skipped; {c['chunks_added']} chunks in "
            f"{c['seconds']:.1f} s"
        )


@dataclass
class _Pending:
    docs: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class Ingest:
    """One indexing run over a stream of files / documents."""

    def __init__(self, store: Store, embed, counter: Counter, sizes: tuple[int, int]) -> None:
        self.store, self.embed, self.counter, self.sizes = store, embed, counter, sizes
        self.known = store.known()
        self.seen: set[str] = set()
        self.report = IndexReport()
        self.pending = _Pending()
        self.embedded = 0  # chunks sent to the embedder so far: the embedding bar's total

    def run(self, items: Iterable[SourceFile | SourceDoc | Skipped], total: int, show: bool):
        start = time.perf_counter()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        console = Console(stderr=True)
        with Progress(*columns, console=console, transient=True, disable=not show) as bar:
            self.read_task = bar.add_task("reading documents", total=total)
            self.embed_task = bar.add_task("embedding chunks", total=None)
            self.bar = bar
            for item in items:
                self._one(item)
                bar.advance(self.read_task)
            self._flush()
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _one(self, item: SourceFile | SourceDoc | Skipped) -> None:
        if isinstance(item, Skipped):
            self.report.skipped.append(item)
            return
        if isinstance(item, SourceFile):
            sha = "" if item.path.suffix.lower() == ".jsonl" else item.sha256()
            if sha and self.known.get(item.doc_id) == sha:
                self._unchanged(item.doc_id)
                return
            docs = load_file(item, sha)
        else:
            docs = [item]
        for doc in docs:
            if isinstance(doc, Skipped):
                self.report.skipped.append(doc)
            elif doc.id in self.seen:
                self.report.skipped.append(Skipped(doc.path or doc.id, f"duplicate id {doc.id!r}"))
            elif self.known.get(doc.id) == doc.sha256:
                self._unchanged(doc.id)
            else:
                self._queue(doc)
        if len(self.pending.texts) >= BATCH_CHUNKS:
            self._flush()

    def _unchanged(self, doc_id: str) -> None:
        self.seen.add(doc_id)
        self.report.unchanged += 1

    def _queue(self, doc: SourceDoc) -> None:
        chunk_tokens, overlap = self.sizes
        chunks: list[Chunk] = []
        for page, text in doc.parts:
            chunks += chunk_text(text, self.counter, chunk_tokens, overlap, doc.title, page)
        if not chunks:
            self.report.skipped.append(Skipped(doc.path or doc.id, "no text left to index"))
            return
        self.seen.add(doc.id)
        meta = json.dumps(doc.meta, ensure_ascii=False) if doc.meta else ""
        for seq, chunk in enumerate(chunks):
            self.pending.rows.append({
                "id": f"{doc.id}#{seq}", "doc_id": doc.id, "seq": seq, "text": chunk.text,
                "context": chunk.context, "path": doc.path, "title": doc.title,
                "page": chunk.page, "meta": meta,
            })  # fmt: skip
            self.pending.texts.append(chunk.indexed_text)
        self.pending.docs.append({"doc_id": doc.id, "path": doc.path, "title": doc.title,
                                  "sha256": doc.sha256, "n_chunks": len(chunks)})  # fmt: skip

    def _flush(self) -> None:
        pending, self.pending = self.pending, _Pending()
        if not pending.docs:
            return
        self.embedded += len(pending.texts)
        self.bar.update(self.embed_task, total=self.embedded)
        vectors = []
        for start in range(0, len(pending.texts), EMBED_BATCH):
            batch = pending.texts[start : start + EMBED_BATCH]
            vectors.append(np.asarray(self.embed(batch), dtype=np.float32))
            self.bar.advance(self.embed_task, len(batch))
        self.store.write(pending.docs, pending.rows, np.concatenate(vectors))
        for doc in pending.docs:
            updated = doc["doc_id"] in self.known
            self.report.updated += updated
            self.report.added += not updated
        self.report.chunks += len(pending.rows)
