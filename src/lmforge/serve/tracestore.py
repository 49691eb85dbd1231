"""The trace database: one SQLite file (WAL mode), its versioned schema, reads and JSONL export.

    from lmforge.serve.tracestore import read_traces, export_traces
    read_traces("lmforge-traces.sqlite", limit=20)          # newest first
    export_traces("lmforge-traces.sqlite", "traces.jsonl")  # `lmforge traces export`

Tables: `models` (one row per served model: its id, directory and the `lmforge.json`
manifest that records its lineage) and `traces` (one row per request: route, status,
request body, parameters, the prompt as the model saw it, the output, token counts,
latency). The schema version is SQLite's `user_version`; a file from a newer lmforge is
refused instead of misread. Writes come from `serve.tracing.Tracer`'s background thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError

DEFAULT_DB = "lmforge-traces.sqlite"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    key TEXT PRIMARY KEY,          -- sha256 of (model id, path, manifest)
    model_id TEXT NOT NULL,
    path TEXT,
    manifest TEXT                  -- the model's lmforge.json (its lineage), or NULL
);
CREATE TABLE IF NOT EXISTS traces (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,              -- the response's id (chatcmpl-...) or trace-...
    created REAL NOT NULL,         -- unix time the request arrived
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER,                -- HTTP status; NULL when the client went away first
    model TEXT,
    model_key TEXT REFERENCES models(key),
    request TEXT,                  -- the JSON body as sent
    params TEXT,                   -- the body without its messages/prompt/input (JSON)
    prompt TEXT,                   -- what the model saw: the rendered chat prompt, or texts
    output TEXT,                   -- JSON: choices (text, tool_calls, finish_reason) or error
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_ms REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS traces_created ON traces (created);
"""
COLUMNS = ("id", "created", "method", "path", "status", "model", "model_key", "request",
           "params", "prompt", "output", "prompt_tokens", "completion_tokens", "latency_ms",
           "error")  # fmt: skip
JSON_COLUMNS = ("request", "params", "output")


def connect(path: str | Path, create: bool = False) -> sqlite3.Connection:
    """A connection to the trace file at `path` with the current schema (created if asked)."""
    path = Path(path)
    if not create and not path.is_file():
        raise LmforgeError(f"no trace database at {path}.", "Serve with --trace-db PATH first.")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, timeout=10, check_same_thread=False)
        _prepare(db, path)
    except sqlite3.DatabaseError as e:
        raise LmforgeError(f"{path}: {e}.", "Is it an lmforge trace database?") from None
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        db.close()
        raise LmforgeError(
            f"{path} has trace schema {found}; this lmforge reads {SCHEMA_VERSION}.",
            "Upgrade lmforge, or trace into another file (--trace-db).",
        )
    if found < SCHEMA_VERSION:
        db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.commit()


def add_model(db: sqlite3.Connection, key: str, model_id: str, path, manifest) -> None:
    with db:
        db.execute(
            "INSERT OR IGNORE INTO models (key, model_id, path, manifest) VALUES (?, ?, ?, ?)",
            (key, model_id, path, None if manifest is None else json.dumps(manifest)),
        )


def insert(db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert finished trace rows (JSON columns already serialised) in one transaction."""
    marks = ", ".join("?" for _ in COLUMNS)
    with db:
        db.executemany(
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({marks})",
            [tuple(row.get(c) for c in COLUMNS) for row in rows],
        )


_SELECT = (
    f"SELECT t.seq, {', '.join('t.' + c for c in COLUMNS)}, m.path, m.manifest "
    "FROM traces t LEFT JOIN models m ON m.key = t.model_key"
)


def _record(row: tuple) -> dict[str, Any]:
    seq, *values, model_path, manifest = row
    record = dict(zip(COLUMNS, values, strict=True))
    for column in JSON_COLUMNS:
        if record[column] is not None:
            with suppress(json.JSONDecodeError):  # a body that was not JSON stays text
                record[column] = json.loads(record[column])
    usage = {k: record.pop(k) for k in ("prompt_tokens", "completion_tokens")}
    record.pop("model_key")
    lineage = None if manifest is None else {"path": model_path, "manifest": json.loads(manifest)}
    return {"seq": seq, "object": "trace", **record, "usage": usage, "lineage": lineage}


def read_traces(path_or_db, limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
    """The `limit` newest traces after skipping `offset`, and how many there are in all."""
    if not isinstance(path_or_db, sqlite3.Connection):
        with closing(connect(path_or_db)) as db:
            return read_traces(db, limit, offset)
    rows = path_or_db.execute(f"{_SELECT} ORDER BY t.seq DESC LIMIT ? OFFSET ?", (limit, offset))
    records = [_record(row) for row in rows.fetchall()]
    (total,) = path_or_db.execute("SELECT COUNT(*) FROM traces").fetchone()
    return records, total


def iter_traces(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every trace, oldest first, streamed from the file."""
    with closing(connect(path)) as db:
        for row in db.execute(f"{_SELECT} ORDER BY t.seq"):
            yield _record(row)


def count_traces(path: str | Path) -> int:
    with closing(connect(path)) as db:
        return db.execute("SELECT COUNT(*) FROM traces").fetchone()[0]


def export_traces(path: str | Path, out: str | Path, progress: bool = True) -> int:
    """Write every trace of `path` to the JSONL file `out` (oldest first); returns the count."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lmforge.jsonl import write_jsonl

    total = count_traces(path)
    columns = (TextColumn("exporting traces"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task("export", total=total)

        def advancing(records: Iterator[dict]) -> Iterator[dict]:
            for record in records:
                bar.advance(task)
                yield record

        return write_jsonl(out, advancing(iter_traces(path)))
