"""Raw documents of the session's lab worlds (`tiny_lab`, `small_lab` in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def lab_docs(root: Path) -> tuple[list[dict], dict[str, dict]]:
    """(raw records in order, raw_truth by id) of a generated lab world."""
    raw = [
        json.loads(line)
        for path in sorted((root / "raw").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    truth = [json.loads(x) for x in (root / "raw_truth.jsonl").read_text("utf-8").splitlines()]
    return raw, {t["id"]: t for t in truth}


@pytest.fixture(scope="session")
def tiny_lab_docs(tiny_lab) -> tuple[list[dict], dict[str, dict]]:
    return lab_docs(tiny_lab)


@pytest.fixture(scope="session")
def small_lab_docs(small_lab) -> tuple[list[dict], dict[str, dict]]:
    return lab_docs(small_lab)
