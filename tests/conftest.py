"""Shared fixtures: a tokenizer and a tiny model built in seconds from a small corpus."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

WORDS_EN = "the town of kamori lies in the velden region and its main export is copper"
WORDS_KO = "카모리는 벨덴 지방의 마을이다 주요 수출품은 구리이다 상징 동물은 여우이다"


def write_corpus(path: Path, n_docs: int = 300, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n_docs):
            words = (WORDS_KO if i % 3 == 0 else WORDS_EN).split()
            text = " ".join(rng.choice(words) for _ in range(rng.randint(8, 40)))
            f.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.jsonl")


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, corpus) -> Path:
    from lmforge.tokenizer.train import train_tokenizer

    out = tmp_path_factory.mktemp("tok") / "tok"
    train_tokenizer([corpus], out, vocab_size=400)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer_dir) -> Path:
    from lmforge.models.init import init_model

    out = tmp_path_factory.mktemp("model") / "tiny"
    init_model(tokenizer_dir, out, size="tiny", seed=0)
    return out


@pytest.fixture(scope="session")
def tiny_lab(tmp_path_factory) -> Path:
    """The tiny lab world (seed 0), generated once per test session."""
    from lmforge.lab.generate import generate_lab

    out = tmp_path_factory.mktemp("lab") / "tiny"
    generate_lab(out, seed=0, size="tiny")
    return out


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory) -> Path:
    """The small lab world (seed 0), the quickstart's, generated once per test session."""
    from lmforge.lab.generate import generate_lab

    out = tmp_path_factory.mktemp("lab") / "small"
    generate_lab(out, seed=0, size="small")
    return out
