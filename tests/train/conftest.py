"""Fixtures for the PEFT tests: chat data and one short fine-tuning run per method, shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peft_support import Trained, run_sft, short_config

QA = [
    ("What is the main export of Kamori?", "copper"),
    ("Where does Kamori lie?", "in the velden region"),
    ("카모리의 주요 수출품은?", "구리"),
    ("카모리의 상징 동물은?", "여우"),
]


@pytest.fixture(scope="session")
def chats_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("chats") / "chats.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for q, a in QA * 8:
            messages = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            f.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def trained(tiny_model_dir, chats_file, tmp_path_factory):
    """method name -> Trained, each method run once per session, on first use."""
    root, runs = tmp_path_factory.mktemp("peft"), {}

    def get(method: str) -> Trained:
        if method not in runs:
            runs[method] = run_sft(
                tiny_model_dir, chats_file, root / method, method, short_config()
            )
        return runs[method]

    return get
