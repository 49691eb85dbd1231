"""Reading and writing JSON Lines with errors that name the file and line.

Writes are atomic (temporary file + rename) so an interrupted command never leaves a
half-written file that looks finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError


def iter_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file; raise `LmforgeError` naming file:line on bad input.

    Blank lines are skipped. `required` lists fields every record must have.
    """
    path = Path(path)
    if not path.is_file():
        raise LmforgeError(f"{path} does not exist or is not a file.", "Check the path.")
    if path.stat().st_size == 0:
        raise LmforgeError(f"{path} is empty.", "Give a JSONL file with one JSON object per line.")
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            record = _parse_line(raw, path, line_no)
            missing = [k for k in required if k not in record]
            if missing:
                raise LmforgeError(
                    f"{path}:{line_no}: the record has no field {', '.join(map(repr, missing))}"
                    f" (it has {', '.join(map(repr, record)) or 'no fields'}).",
                    f"Every record needs {', '.join(map(repr, required))}.",
                )
            yield record


def read_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """All records of a JSONL file (see `iter_jsonl`); an empty result is an error."""
    records = list(iter_jsonl(path, required))
    if not records:
        raise LmforgeError(f"{path} has no records (only blank lines).", "Add JSON records.")
    return records


def _parse_line(raw: bytes, path: Path, line_no: int) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LmforgeError(
            f"{path}:{line_no}: invalid UTF-8 at byte {e.start} of the line.",
            "Re-encode the file as UTF-8.",
        ) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as e:
        raise LmforgeError(
            f"{path}:{line_no}: not valid JSON ({e.msg} at column {e.colno}).",
            "Each line must be one JSON object.",
        ) from None
    if not isinstance(record, dict):
        raise LmforgeError(
            f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}.",
            "Each line must be one JSON object.",
        )
    return record


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records atomically; return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def jsonl_files(path: str | Path) -> list[Path]:
    """A JSONL file, or the `*.jsonl` files under a directory (sorted, recursively)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise LmforgeError(f"{path} holds no .jsonl files.", "Point at a JSONL file or folder.")
        return files
    if not path.exists():
        raise LmforgeError(f"{path} does not exist.", "Check the path.")
    return [path]


def iter_texts(paths: Iterable[str | Path]) -> Iterator[str]:
    """The `text` of every record of the given JSONL files or directories."""
    for path in paths:
        for file in jsonl_files(path):
            for record in iter_jsonl(file, required=("text",)):
                if not isinstance(record["text"], str):
                    raise LmforgeError(f"{file}: a record's 'text' is not a string.")
                yield record["text"]
