"""Read raw JSONL files into `Document`s, quarantining bad lines instead of crashing.

    for item in read_jsonl_docs([Path("raw/")]):   # a directory = its *.jsonl files, sorted
        if isinstance(item, Quarantined): ...       # a line that could not become a document

Each non-blank line should be a JSON object with a string `"text"`; `"id"` is optional
(default `"<file stem>:<line>"`), an object `"meta"` is taken as the metadata and any other
fields are added to it. Blank lines are skipped and not counted. Anything else (invalid UTF-8,
not JSON, not an object, no or non-string text) becomes a `Quarantined` record and reading goes
on: raw web data always has a few broken lines, and one must not sink a whole run.

Hand-written rather than `lmforge.jsonl.iter_jsonl`, which stops at the first bad line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.data.document import Document
from lmforge.errors import LmforgeError

RAW_LIMIT = 1000  # characters of a bad line kept in its quarantine record


@dataclass
class Quarantined:
    """A line that could not be read as a document: where it was, why, and (the start of) it."""

    source: str
    line: int
    error: str
    raw: str

    def to_record(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "error": self.error, "raw": self.raw}


class _BadLine(Exception):
    """Internal: the reason one line is quarantined."""


def read_jsonl_docs(
    paths: str | Path | Iterable[str | Path],
) -> Iterator[Document | Quarantined]:
    """Yield a `Document` or a `Quarantined` record per non-blank line of the JSONL inputs.

    Input problems the user must fix (a missing path, a directory without `*.jsonl`, only empty
    files) raise `LmforgeError` here, before anything is read.
    """
    files = jsonl_files(paths)
    return _iter_files(files)


def jsonl_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files behind `paths` (a directory stands for its `*.jsonl`), checked to hold data."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.glob("*.jsonl") if p.is_file())
            if not found:
                raise LmforgeError(f"{path} holds no *.jsonl files.", "Point to JSONL files.")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise LmforgeError(f"{path} does not exist.", "Check the input path.")
    if not files:
        raise LmforgeError("No input files were given.", "Pass at least one JSONL file.")
    if not any(_has_content(f) for f in files):
        names = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
        raise LmforgeError(f"All input files are empty ({names}).", "Give JSONL with records.")
    return files


def _has_content(path: Path) -> bool:
    # Stops at the first non-blank line, so this is cheap even for large files.
    with path.open("rb") as f:
        return any(line.strip() for line in f)


def _iter_files(files: list[Path]) -> Iterator[Document | Quarantined]:
    for path in files:
        with path.open("rb") as f:
            for line_no, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    yield _to_document(raw, path, line_no)
                except _BadLine as e:
                    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    yield Quarantined(str(path), line_no, str(e), text[:RAW_LIMIT])


def _to_document(raw: bytes, path: Path, line_no: int) -> Document:
    record = _parse(raw)
    text = record.get("text")
    if "text" not in record:
        raise _BadLine(f"no 'text' field (fields: {', '.join(map(repr, record)) or 'none'})")
    if not isinstance(text, str):
        raise _BadLine(f"'text' is {type(text).__name__}, not a string")
    doc_id = record.get("id")
    if doc_id is None:
        doc_id = f"{path.stem}:{line_no}"
    elif isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    elif not isinstance(doc_id, str):
        raise _BadLine(f"'id' is {type(doc_id).__name__}, not a string")
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise _BadLine(f"'meta' is {type(meta).__name__}, not an object")
    extra = {k: v for k, v in record.items() if k not in ("id", "text", "meta")}
    return Document(id=doc_id, text=text, meta={**meta, **extra})


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _BadLine(f"invalid UTF-8 at byte {e.start} of the line") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise _BadLine(f"not valid JSON ({e.msg} at column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # e.g. a 5000-digit number, or [[[[...]]]]
        raise _BadLine(f"not readable JSON ({type(e).__name__}: {str(e)[:100]})") from None
    if not isinstance(record, dict):
        raise _BadLine(f"expected a JSON object, got {_json_type(record)}")
    # A "\ud800" escape decodes to a lone surrogate, which cannot be written back as UTF-8.
    if "\\ud" in line.lower():
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _BadLine("contains a lone UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return record


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
