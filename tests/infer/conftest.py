"""A tiny model with scrambled weights, so greedy generation gives varied text, built once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from lmforge.jsonl import write_jsonl
from lmforge.models.init import init_model
from lmforge.models.io import load_model, save_model
from lmforge.tokenizer.train import train_tokenizer
from support import single_thread

TOWNS = [("Kamori", "카모리"), ("Tessa", "테사"), ("Orlen", "오를렌"), ("Halden", "할덴")]
GOODS = [("copper", "구리"), ("salt", "소금"), ("wool", "양모"), ("timber", "목재")]


def corpus(n: int = 150, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        (town, town_ko), (good, good_ko) = rng.choice(TOWNS), rng.choice(GOODS)
        records.append({"text": f"{town} is a town. Its main export is {good}."})
        records.append({"text": f"{town_ko}는 마을이다. 주요 수출품은 {good_ko}이다."})
    return records


@pytest.fixture(scope="module", autouse=True)
def _single_thread():
    with single_thread():
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("infer")
    write_jsonl(root / "corpus.jsonl", corpus())
    train_tokenizer([root / "corpus.jsonl"], root / "tok", vocab_size=400)
    with single_thread():
        init_model(root / "tok", root / "model", size="tiny")
    model, tokenizer = load_model(root / "model")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # large random weights: a confident model that says varied things
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    save_model(model, tokenizer, root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_model(model_dir)
