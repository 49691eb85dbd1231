"""`lmforge serve --adapter`: a PEFT adapter served on its base, under the adapter's name.

Run: OMP_NUM_THREADS=1 pytest tests/serve/test_serve_adapter.py
"""

from __future__ import annotations

import httpx2
import pytest
from serve_support import running

from lmforge.errors import LmforgeError
from lmforge.infer.backends import load_backend
from lmforge.serve import create_app
from lmforge.train.config import TrainConfig
from lmforge.train.merge import load_adapted, merge
from lmforge.train.sft import sft
from support import run_cli

CONFIG = TrainConfig(max_steps=3, lr=5e-2, seq_len=48, micro_batch_size=4, warmup_steps=0)


@pytest.fixture(scope="module")
def lora(tiny_model_dir, tiny_lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "lora-tuned"
    sft(tiny_model_dir, [tiny_lab / "sft" / "train.jsonl"], out, CONFIG, peft="lora")
    return out


def test_the_adapter_is_served_as_the_merged_model_answers(tiny_model_dir, lora, tmp_path):
    merged = tmp_path / "merged"
    merge(tiny_model_dir, lora, merged)
    texts = []
    for app in (create_app(tiny_model_dir, adapter=lora, embedder=None, threads=1),
                create_app(merged, model_id="lora-tuned", embedder=None, threads=1)):  # fmt: skip
        with running(app) as url:
            models = httpx2.get(f"{url}/v1/models").json()["data"]
            body = {
                "model": "lora-tuned",
                "prompt": "The town of",
                "max_tokens": 8,
                "temperature": 0,
            }
            reply = httpx2.post(f"{url}/v1/completions", json=body, timeout=60).json()
        assert "lora-tuned" in [m["id"] for m in models]
        texts.append(reply["choices"][0]["text"])
    base = load_backend(str(tiny_model_dir)).generate("The town of", max_tokens=8).text
    assert texts[0] == texts[1] and texts[0].rstrip() != base.rstrip()  # the adapter counts


def test_an_adapter_of_another_base_is_refused(lora, tmp_path, tiny_model_dir):
    other = tmp_path / "other"
    merge(tiny_model_dir, lora, other)  # a different model: the merged weights
    with pytest.raises(LmforgeError, match="trained on another base model"):
        load_adapted(other, lora)
    with pytest.raises(LmforgeError, match="holds no adapter"):
        load_adapted(tiny_model_dir, other)


def test_vllm_with_an_adapter_says_merge_first(capsys, tiny_model_dir, lora):
    code, text = run_cli(capsys, "serve", "--model", str(tiny_model_dir), "--adapter", str(lora),
                         "--engine", "vllm")  # fmt: skip
    assert code == 1 and "lmforge merge" in text
