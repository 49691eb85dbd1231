"""Model directories are plain Hugging Face directories; bad ones get clear errors."""

import json
import random
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from lmforge.errors import LmforgeError
from lmforge.models.init import SIZES, init_model
from lmforge.models.io import check_fits_in_memory, load_model


def test_init_writes_a_plain_hf_model(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert model.config.model_type == "llama"
    assert model.config.hidden_size == SIZES["tiny"].hidden_size
    assert model.config.vocab_size == len(tokenizer)
    eos = model.generation_config.eos_token_id
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in eos
    ids = tokenizer("hello", return_tensors="pt")["input_ids"]
    out = model.generate(ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] <= ids.shape[1] + 3
    manifest = json.loads((tiny_model_dir / "lmforge.json").read_text())
    assert manifest["kind"] == "model"
    assert manifest["metrics"]["parameters"] == sum(p.numel() for p in model.parameters())


def test_same_seed_same_weights(tokenizer_dir, tiny_model_dir, tmp_path):
    init_model(tokenizer_dir, tmp_path / "again", size="tiny", seed=0)
    a, _ = load_model(tiny_model_dir)
    b, _ = load_model(tmp_path / "again")
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_not_a_model_directory(tmp_path, tokenizer_dir):
    with pytest.raises(LmforgeError, match="not a model directory"):
        load_model(tokenizer_dir)
    with pytest.raises(LmforgeError, match="not a directory"):
        load_model(tmp_path / "missing")


def test_tokenizer_that_does_not_match_the_model(tmp_path, tiny_model_dir):
    from lmforge.tokenizer.train import train_tokenizer

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(6)) for _ in range(400)]
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({"text": " ".join(words[i::7])}) + "\n" for i in range(7)))
    train_tokenizer([other], tmp_path / "bigger", vocab_size=1000)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tmp_path / "bigger" / name, broken / name)
    with pytest.raises(LmforgeError, match="do not belong together"):
        load_model(broken)


def test_a_model_too_big_for_this_machine_is_refused_before_allocation():
    config = LlamaConfig(
        vocab_size=32000, hidden_size=16384, intermediate_size=53248,
        num_hidden_layers=120, num_attention_heads=128,
    )  # fmt: skip
    with pytest.raises(LmforgeError, match=r"needs about \d+ GiB"):
        check_fits_in_memory(config)


def test_unknown_size(tokenizer_dir, tmp_path):
    with pytest.raises(LmforgeError, match="unknown model size 'huge'"):
        init_model(tokenizer_dir, tmp_path / "m", size="huge")
