"""Byte-level BPE: exact round trips and plain-HF loadability."""

import random

import pytest
from transformers import AutoTokenizer

from lmforge.errors import LmforgeError
from lmforge.tokenizer.chat_template import IM_END, SPECIAL_TOKENS
from lmforge.tokenizer.train import train_tokenizer

SAMPLES = [
    "The town of Kamori lies in the Velden region.",
    "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다!",
    "  leading and trailing spaces, tabs\tand\nnewlines  ",
    "emoji 😀👍🏽, accents éàü, CJK 漢字, math ∑∫, zero-width\u200b joiner",
    "\x00\x01 control characters \x7f and a lone combining mark \u0301",
]


def _random_text(rng: random.Random) -> str:
    # any code point except surrogates: every valid str must survive encode → decode
    points = [rng.randrange(0x110000) for _ in range(rng.randint(0, 60))]
    return "".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF)


def test_round_trip_is_exact(tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)  # plain transformers, no lmforge
    rng = random.Random(0)
    for text in SAMPLES + [_random_text(rng) for _ in range(300)]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_learned_merges_compress_the_training_languages(tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    for text in ("the town of kamori lies in the velden region", "카모리는 벨덴 지방의 마을이다"):
        assert len(tokenizer(text)["input_ids"]) < len(text.encode()) / 2


def test_special_tokens_and_chat_template_are_saved(tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    for token in SPECIAL_TOKENS:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    messages = [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "hi"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == f"<|im_start|>user: 안녕{IM_END}\n<|im_start|>assistant: hi{IM_END}\n"


def test_manifest_records_corpus_hash(tokenizer_dir, corpus):
    import json

    manifest = json.loads((tokenizer_dir / "lmforge.json").read_text())
    assert manifest["kind"] == "tokenizer"
    assert len(manifest["inputs"]["corpus"]["sha256"]) == 64


def test_bad_inputs(tmp_path):
    with pytest.raises(LmforgeError, match="does not exist"):
        train_tokenizer([tmp_path / "nope.jsonl"], tmp_path / "t")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"txt": "wrong column"}\n')
    with pytest.raises(LmforgeError, match=r"bad.jsonl:2: the record has no field 'text'"):
        train_tokenizer([bad], tmp_path / "t")
    with pytest.raises(LmforgeError, match="too small"):
        train_tokenizer([bad], tmp_path / "t", vocab_size=10)
