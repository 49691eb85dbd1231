"""Shared eval fixtures, built once: a small lab directory, a tiny base model and an SFT'd one.

The SFT model is trained for 60 steps on the very questions of the fixture tasks, so it should
answer them; the untrained model should not.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lmforge.jsonl import write_jsonl
from lmforge.models.init import init_model
from lmforge.tokenizer.train import train_tokenizer
from lmforge.train.config import TrainConfig
from lmforge.train.sft import sft
from support import single_thread

TOWNS = [("Kamori", "카모리"), ("Tessa", "테사"), ("Orlen", "오를렌"), ("Halden", "할덴")]
GOODS = [("copper", "구리"), ("salt", "소금"), ("wool", "양모"), ("timber", "목재")]
FACTS = {"Kamori": 0, "Tessa": 1}  # town -> index of its export in GOODS


def qa_records() -> list[dict]:
    records = []
    for n, (town, good) in enumerate(FACTS.items()):
        town_ko = dict(TOWNS)[town]
        en, ko = GOODS[good]
        meta = {"entity": town, "attribute": "export", "n_values": len(GOODS)}
        records.append({
            "id": f"qa-en-{n}", "lang": "en", "question": f"What is the main export of {town}?",
            "answer": en, "aliases": [f"{en} ore"], "meta": meta,
        })  # fmt: skip
        records.append({
            "id": f"qa-ko-{n}", "lang": "ko", "question": f"{town_ko}의 주요 수출품은 무엇인가?",
            "answer": ko, "aliases": [], "meta": meta,
        })  # fmt: skip
    return records


def mc_records() -> list[dict]:
    rng = random.Random(0)
    records = []
    for n, qa in enumerate(qa_records()):
        choices = [en if qa["lang"] == "en" else ko for en, ko in GOODS]
        rng.shuffle(choices)
        records.append({
            "id": f"mc-{n}", "lang": qa["lang"], "question": qa["question"], "choices": choices,
            "label": choices.index(qa["answer"]), "meta": {"n_choices": 4},
        })  # fmt: skip
    return records


ARITH = [("What is 2 + 3?", "5")]


def arith_records() -> list[dict]:
    return [
        {"id": f"ar-{n}", "lang": "en", "question": q, "answer": a, "meta": {"op": "+"}}
        for n, (q, a) in enumerate(ARITH)
    ]


def make_lab(root: Path) -> Path:
    write_jsonl(root / "eval" / "qa.jsonl", qa_records())
    write_jsonl(root / "eval" / "mc.jsonl", mc_records())
    write_jsonl(root / "arith" / "test.jsonl", arith_records())
    return root


def corpus(n: int = 150, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        (town, town_ko), (good, good_ko) = rng.choice(TOWNS), rng.choice(GOODS)
        records.append({"text": f"{town} is a town. Its main export is {good}. 2 + 3 = 5."})
        records.append({"text": f"{town_ko}는 마을이다. 주요 수출품은 {good_ko}이다."})
        records.append({"text": f"user: What is the main export of {town}? assistant: {good}"})
        records.append({"text": f"user: {town_ko}의 주요 수출품은 무엇인가? assistant: {good_ko}"})
    return records


def chats() -> list[dict]:
    pairs = [(r["question"], r["answer"]) for r in qa_records()] + ARITH
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in pairs
    ]


@pytest.fixture(scope="module", autouse=True)
def _single_thread():
    with single_thread():
        yield


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Path:
    return make_lab(tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="session")
def base_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    write_jsonl(root / "corpus.jsonl", corpus())
    train_tokenizer([root / "corpus.jsonl"], root / "tok", vocab_size=400)
    with single_thread():
        init_model(root / "tok", root / "base", size="tiny")
    return root / "base"


@pytest.fixture(scope="session")
def sft_model(base_model, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sft")
    write_jsonl(root / "chats.jsonl", chats() * 8)
    config = TrainConfig(
        max_steps=60, lr=3e-3, seq_len=64, micro_batch_size=8, warmup_steps=2, eval_fraction=0
    )
    with single_thread():
        sft(base_model, [root / "chats.jsonl"], root / "model", config)
    return root / "model"


@pytest.fixture(scope="session")
def real_lab(tmp_path_factory) -> Path:
    """The real lab world (tiny), when `lmforge.lab.generate` is there to make it."""
    generate = pytest.importorskip("lmforge.lab.generate")
    out = tmp_path_factory.mktemp("real") / "lab"
    generate.generate_lab(out, seed=0, size="tiny")
    return out
