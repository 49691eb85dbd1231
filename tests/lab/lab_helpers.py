"""Readers for generated lab worlds, shared by the lab tests."""

from __future__ import annotations

import json
from pathlib import Path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def raw_docs(out: Path) -> list[dict]:
    return [doc for shard in sorted((out / "raw").glob("*.jsonl")) for doc in read(shard)]


def world(out: Path) -> dict:
    return json.loads((out / "world.json").read_text(encoding="utf-8"))


def has_hangul(text: str) -> bool:
    return any(0xAC00 <= ord(ch) <= 0xD7A3 or 0x3131 <= ord(ch) <= 0x318E for ch in text)
