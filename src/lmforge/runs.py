"""Artifact directories and their lineage.

Every command that produces something writes a directory whose manifest, `lmforge.json`,
is written last and atomically: a directory with a manifest is finished, one without is not.
The manifest records the kind of artifact, when and how it was made (command and config),
the versions of lmforge/torch/transformers, its inputs by path and content hash, and metrics.
`lineage(dir)` follows the inputs back to the raw data.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError

MANIFEST = "lmforge.json"
PARTIAL = ".lmforge-partial"  # marks a directory lmforge is still writing
# Scratch that a finished artifact may still hold but that is not part of its content.
_NOT_CONTENT = {MANIFEST, "checkpoints", "__pycache__"}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(path: str | Path) -> str:
    """sha256 of a file, or of a directory's files (names and contents, sorted)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not path.is_dir():
        raise LmforgeError(f"{path} does not exist.", "Check the path.")
    h = hashlib.sha256()
    for child in sorted(_content_files(path)):
        h.update(child.relative_to(path).as_posix().encode() + b"\0")
        h.update(file_sha256(child).encode())
    return h.hexdigest()


def _content_files(root: Path):
    for entry in root.iterdir():
        if entry.name in _NOT_CONTENT or entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _content_files(entry)
        elif entry.is_file():
            yield entry


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("lmforge", "torch", "transformers", "accelerate", "tokenizers"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def prepare_out_dir(out: str | Path, overwrite: bool = False, resumable: bool = False) -> Path:
    """Make `out` ready for a new artifact and mark it unfinished.

    Only directories lmforge made are ever cleared: a finished artifact (with a manifest) with
    `overwrite`; an unfinished one (with the `.lmforge-partial` mark) unless the command
    resumes from it (`resumable` and no `overwrite`). Anything else that is not empty is refused,
    so a mistyped --out never deletes a user's files.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LmforgeError(f"{out} is a file, not a directory.", "Choose another --out.")
    if out.is_dir() and any(out.iterdir()):
        finished = (out / MANIFEST).exists()
        if not finished and not (out / PARTIAL).exists():
            raise LmforgeError(
                f"{out} is not empty and was not made by lmforge.",
                "Choose a new or empty --out directory.",
            )
        if finished and not overwrite:
            raise LmforgeError(
                f"{out} already holds a finished artifact.",
                "Choose another --out or pass --overwrite.",
            )
        if finished or overwrite or not resumable:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / PARTIAL).touch()
    return out


def write_manifest(
    out: str | Path,
    kind: str,
    config: dict[str, Any],
    inputs: dict[str, str | Path] | None = None,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write `out/lmforge.json` atomically, marking the artifact finished; return it."""
    out = Path(out)
    manifest = {
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],
        "config": _jsonable(config),
        "versions": versions(),
        "inputs": {
            role: {
                "path": os.path.relpath(Path(p).resolve(), out.resolve()),
                "sha256": content_hash(p),
            }
            for role, p in (inputs or {}).items()
        },
        "metrics": _jsonable(metrics or {}),
    }
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    (out / PARTIAL).unlink(missing_ok=True)
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of the artifact at `path` (a directory), or None if it has none."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LmforgeError(
            f"{file} is not valid JSON ({e.msg}).", "Re-create the artifact."
        ) from None


def owning_artifact(path: str | Path) -> Path | None:
    """The nearest directory at or above `path` that holds a manifest."""
    path = Path(path).resolve()
    for candidate in [path, *path.parents]:
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def lineage(path: str | Path) -> dict[str, Any]:
    """The tree of artifacts that `path` was made from, back to the raw data.

    Each node: {"path", "kind", "created", "metrics", "inputs": {role: node}}; an input that is
    no artifact (a plain file) is a leaf with its hash and whether it changed since.
    """
    root = owning_artifact(path)
    if root is None:
        raise LmforgeError(f"{path} is not inside an lmforge artifact (no {MANIFEST} found).")
    return _node(root, seen=set())


def _node(artifact: Path, seen: set[Path]) -> dict[str, Any]:
    manifest = read_manifest(artifact) or {}
    node = {
        "path": str(artifact),
        "kind": manifest.get("kind"),
        "created": manifest.get("created"),
        "metrics": manifest.get("metrics", {}),
        "inputs": {},
    }
    if artifact in seen:  # a cycle means a hand-edited manifest; do not loop forever
        return node
    seen = seen | {artifact}
    for role, info in manifest.get("inputs", {}).items():
        input_path = (artifact / info["path"]).resolve()
        parent = owning_artifact(input_path)
        if parent is not None and parent != artifact:
            node["inputs"][role] = _node(parent, seen)
        else:
            node["inputs"][role] = _leaf(input_path, info.get("sha256"))
    return node


def _leaf(path: Path, recorded: str | None) -> dict[str, Any]:
    exists = path.exists()
    return {
        "path": str(path),
        "kind": "file" if not exists or path.is_file() else "directory",
        "sha256": recorded,
        "missing": not exists,
        "changed": exists and recorded is not None and content_hash(path) != recorded,
        "inputs": {},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
