"""Shared lab worlds: generated once per test session, read by many tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.lab.generate import generate_lab


@pytest.fixture(scope="session")
def tiny_lab(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "tiny"
    generate_lab(out, seed=0, size="tiny")
    return out


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "small"
    generate_lab(out, seed=0, size="small")
    return out
