"""The on-disk index: two LanceDB tables (chunks with vectors, documents) and index.json.

    idx/index.json             embedder spec and dimension, chunking settings, format
    idx/lance/chunks.lance     one row per chunk: id, doc_id, seq, text, context, path, title,
                               page, meta (JSON), vector (unit length: dot product = cosine)
    idx/lance/documents.lance  one row per document: doc_id, path, title, sha256, n_chunks
    idx/bm25/                  the BM25 index (see bm25.py), rebuilt from the chunks table

Writes keep one invariant: a document row exists only once all its chunks are stored. Adding
or replacing a document deletes its old row, then its old chunks, adds the new chunks and only
then the row. An interrupted run leaves at most chunks without a row; the `.lmforge-partial`
mark it leaves makes the next open call `repair`, which deletes them (and any row whose chunk
count is off), so a rerun re-indexes exactly the unfinished documents, without duplicates.
Dense search is exact (a flat scan); LanceDB's ANN indexes were slower to build than to scan
at the sizes this targets.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lmforge.errors import LmforgeError

FORMAT = 1
CONFIG = "index.json"
ROW_COLUMNS = ["id", "doc_id", "seq", "text", "context", "path", "title", "page", "meta"]
FILTER_COLUMNS = ("doc_id", "path", "title", "page", "seq", "context")


def chunk_schema(dim: int) -> pa.Schema:
    strings = [pa.field(c, pa.string()) for c in ("id", "doc_id")]
    return pa.schema([
        *strings, pa.field("seq", pa.int32()),
        *[pa.field(c, pa.string()) for c in ("text", "context", "path", "title")],
        pa.field("page", pa.int32()), pa.field("meta", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
    ])  # fmt: skip


DOC_SCHEMA = pa.schema(
    [pa.field(c, pa.string()) for c in ("doc_id", "path", "title", "sha256")]
    + [pa.field("n_chunks", pa.int32()), pa.field("indexed_at", pa.string())]
)


def quote(value: Any) -> str:
    """A SQL literal for LanceDB filters (strings single-quoted, quotes doubled)."""
    if isinstance(value, bool | int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def in_list(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def read_config(path: Path) -> dict[str, Any] | None:
    file = path / CONFIG
    if not file.is_file():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LmforgeError(f"{file} is not valid JSON ({e.msg}).", "Rebuild the index.") from None


def write_config(path: Path, config: dict[str, Any]) -> None:
    tmp = path / f".{CONFIG}.tmp"
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path / CONFIG)


class Store:
    """The two tables of one index directory; all reads and writes of rows go through here."""

    def __init__(self, path: Path, dim: int) -> None:
        os.environ.setdefault("LANCEDB_LOG", "error")  # lance logs a warning per new table
        import lancedb

        self.path, self.dim = path, dim
        self.db = lancedb.connect(str(path / "lance"))
        names = set(self.db.list_tables().tables)
        self.chunks = self._table("chunks", chunk_schema(dim), names)
        self.documents = self._table("documents", DOC_SCHEMA, names)

    def _table(self, name: str, schema: pa.Schema, names: set[str]):
        if name in names:
            return self.db.open_table(name)
        return self.db.create_table(name, schema=schema)

    @property
    def version(self) -> int:
        return int(self.chunks.version)

    def count(self) -> int:
        return int(self.chunks.count_rows())

    def documents_rows(self) -> list[dict[str, Any]]:
        return self._scan(self.documents, list(DOC_SCHEMA.names)).to_pylist()

    def known(self) -> dict[str, str]:
        """doc_id -> sha256 of every finished document."""
        table = self._scan(self.documents, ["doc_id", "sha256"])
        return dict(zip(table["doc_id"].to_pylist(), table["sha256"].to_pylist(), strict=True))

    def write(self, docs: list[dict[str, Any]], chunks: list[dict[str, Any]], vectors) -> None:
        """Store finished documents: old rows and chunks out, new chunks in, then the rows."""
        ids = [d["doc_id"] for d in docs]
        self.delete(ids)
        if chunks:
            columns = {c: [row[c] for row in chunks] for c in ROW_COLUMNS}
            flat = pa.array(np.asarray(vectors, dtype=np.float32).ravel())
            columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, self.dim)
            self.chunks.add(pa.table(columns, schema=chunk_schema(self.dim)))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [{**{c: d[c] for c in DOC_SCHEMA.names if c != "indexed_at"}, "indexed_at": now}
                for d in docs]  # fmt: skip
        if rows:
            self.documents.add(pa.Table.from_pylist(rows, schema=DOC_SCHEMA))

    def delete(self, doc_ids: list[str]) -> None:
        """Remove documents: their rows first, then their chunks (the invariant's order)."""
        for start in range(0, len(doc_ids), 500):  # keep each SQL filter a sane length
            where = in_list("doc_id", doc_ids[start : start + 500])
            self.documents.delete(where)
            self.chunks.delete(where)

    def repair(self) -> int:
        """Delete chunks without a finished document, and rows whose chunk count is off."""
        rows = {r["doc_id"]: r["n_chunks"] for r in self.documents_rows()}
        counts = Counter(self._scan(self.chunks, ["doc_id"])["doc_id"].to_pylist())
        broken = [d for d, n in rows.items() if counts.get(d, 0) != n]
        orphans = [d for d in counts if d not in rows]
        self.delete(broken + orphans)
        return len(broken) + len(orphans)

    def compact(self) -> None:
        """Merge the small files of many appends and drop old versions (faster scans)."""
        from datetime import timedelta

        from lancedb.index import BTree

        for table in (self.chunks, self.documents):
            # versions younger than this stay, for a reader (rag ask) opened during indexing
            table.optimize(cleanup_older_than=timedelta(minutes=10))
        indexed = {tuple(ix.columns) for ix in self.chunks.list_indices()}
        if ("id",) not in indexed and self.count():  # BM25 hits are fetched by chunk id
            self.chunks.create_index("id", config=BTree())

    def texts(self) -> tuple[list[str], list[str]]:
        """(ids, indexed texts) of every chunk: what BM25 is built from."""
        table = self._scan(self.chunks, ["id", "text", "context"])
        pairs = zip(table["text"].to_pylist(), table["context"].to_pylist(), strict=True)
        texts = [f"{c}\n{t}" if c else t for t, c in pairs]
        return table["id"].to_pylist(), texts

    def ids_where(self, where: str) -> set[str]:
        return set(self._scan(self.chunks, ["id"], where)["id"].to_pylist())

    def rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Chunk rows (without vectors) by id."""
        if not ids:
            return {}
        table = self._scan(self.chunks, ROW_COLUMNS, in_list("id", ids))
        return {row["id"]: row for row in table.to_pylist()}

    def dense(self, vector: np.ndarray, k: int, where: str | None) -> list[tuple[dict, float]]:
        """The k chunks of highest cosine similarity, best first, as (row, score)."""
        query = self.chunks.search(
            np.asarray(vector, dtype=np.float32), vector_column_name="vector"
        )
        query = query.metric("dot").select(ROW_COLUMNS).limit(k)
        if where:
            query = query.where(where, prefilter=True)
        table = _run(query, where)
        # LanceDB's "dot" distance is 1 - dot product
        return [(row, 1.0 - row.pop("_distance")) for row in table.to_pylist()]

    def _scan(self, table, columns: list[str], where: str | None = None) -> pa.Table:
        query = table.search().select(columns).limit(max(1, table.count_rows()))
        if where:
            query = query.where(where)
        return _run(query, where)


def _run(query, where: str | None) -> pa.Table:
    try:
        return query.to_arrow()
    except (ValueError, RuntimeError, OSError) as e:
        if where:  # almost always the user's filter
            raise LmforgeError(
                f"the filter {where!r} is not valid ({str(e).splitlines()[0]}).",
                f"Filter on {', '.join(FILTER_COLUMNS)}, e.g. \"path = 'notes/a.md'\".",
            ) from None
        raise
