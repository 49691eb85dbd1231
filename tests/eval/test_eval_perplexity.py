"""Perplexity: lm-eval's rolling windows, the token sums they add up to, the corpus metrics,
`lmforge eval perplexity` and loglikelihood_rolling tasks in `lmforge eval`."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.eval.perplexity import (
    count_words,
    perplexity,
    read_documents,
    rolling_loglikelihoods,
    rolling_windows,
)
from lmforge.eval.scoring import prefix_token_id
from lmforge.models.io import load_model
from support import run_cli

WORDS = ("the", "town", "of", "kamori", "lies", "in", "the", "velden", "region", "and", "its",
         "main", "export", "is", "copper")  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir)


def text(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_rolling_windows_predict_every_token_once():
    tokens = list(range(100, 123))
    for max_len, context_len in [(4, 1), (4, 3), (5, 2), (23, 1), (30, 1), (1, 1)]:
        windows = rolling_windows(tokens, 0, max_len, context_len)
        assert [t for _, pred in windows for t in pred] == tokens
        for n, (context, pred) in enumerate(windows):
            assert len(context) + len(pred) - 1 <= max_len  # fits the model
            full = [0, *tokens]
            end = tokens.index(pred[-1]) + 2  # position after pred's last token in `full`
            assert full[end - len(context) - len(pred) : end] == context + pred  # contiguous
            if n > 0 and len(pred) < max_len - context_len + 1:
                assert len(context) + len(pred) - 1 == max_len  # a short last window: full context
    assert rolling_windows(tokens, 0, 4)[0] == ([0], tokens[:4])  # the prefix token first
    assert rolling_windows([], 0, 4) == []
    with pytest.raises(LmforgeError, match="context_len"):
        rolling_windows(tokens, 0, 4, context_len=5)


def test_rolling_windows_equal_lm_eval():
    utils = pytest.importorskip("lm_eval.utils")
    tokens = list(range(1, 60))
    for max_len in (1, 4, 7, 16, 59, 64):
        for context_len in sorted({c for c in (1, 2, max_len // 2, max_len) if 1 <= c <= max_len}):
            theirs = [
                utils.make_disjoint_window(w)
                for w in utils.get_rolling_token_windows(tokens, 0, max_len, context_len)
            ]
            assert rolling_windows(tokens, 0, max_len, context_len) == theirs


def test_one_window_is_the_sum_of_every_tokens_log_probability(tiny):
    model, tokenizer = tiny
    doc = text(40)
    ids = tokenizer(doc)["input_ids"]
    [(loglik, n)] = rolling_loglikelihoods(model, tokenizer, [doc], max_len=len(ids))
    full = torch.tensor([[prefix_token_id(tokenizer), *ids]])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(full).logits[0].double(), -1)
    expected = sum(float(logprobs[i, t]) for i, t in enumerate(ids))
    assert n == len(ids) and loglik == pytest.approx(expected, abs=1e-4)
    # short windows see less context: the same tokens become less likely on the whole
    [(windowed, n8)] = rolling_loglikelihoods(model, tokenizer, [doc], max_len=8)
    [(sliding, _)] = rolling_loglikelihoods(model, tokenizer, [doc], max_len=8, context_len=6)
    assert n8 == n and windowed != loglik and windowed != sliding


def test_corpus_metrics_weight_documents_by_size(tiny_model_dir, tmp_path):
    docs = [text(5, 1), text(60, 2), "카모리는 벨덴 지방의 마을이다  "]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), encoding="utf-8")
    result = perplexity(tiny_model_dir, path, max_len=16, show_progress=False)
    loglik = result["loglikelihood"]
    assert result["documents"] == 3
    assert result["words"] == sum(count_words(d) for d in docs) == 5 + 60 + 5  # trailing ""
    assert result["bytes"] == sum(len(d.encode()) for d in docs)
    assert result["token_perplexity"] == pytest.approx(math.exp(-loglik / result["tokens"]))
    assert result["word_perplexity"] == pytest.approx(math.exp(-loglik / result["words"]))
    assert result["byte_perplexity"] == pytest.approx(math.exp(-loglik / result["bytes"]))
    assert result["bits_per_byte"] == pytest.approx(math.log2(result["byte_perplexity"]))
    # the corpus is not the mean of its documents: each is scored on its own, then summed
    singles = [perplexity(tiny_model_dir, _one(tmp_path, d), max_len=16, show_progress=False)
               for d in docs]  # fmt: skip
    assert loglik == pytest.approx(sum(s["loglikelihood"] for s in singles), abs=1e-4)


def _one(tmp_path, doc: str):
    path = tmp_path / f"doc{abs(hash(doc))}.txt"
    path.write_text(doc, encoding="utf-8")
    return path


def test_read_documents_and_errors(tmp_path, tiny_model_dir):
    plain = tmp_path / "a.txt"
    plain.write_text("one document\n\nstill the same one\n", encoding="utf-8")
    assert read_documents(plain) == ["one document\n\nstill the same one\n"]
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"text": 3}\n', encoding="utf-8")
    with pytest.raises(LmforgeError, match="not a string"):
        read_documents(bad)
    empty = tmp_path / "c.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(LmforgeError, match="no text"):
        read_documents(empty)
    with pytest.raises(LmforgeError, match="does not exist"):
        read_documents(tmp_path / "missing.txt")
    with pytest.raises(LmforgeError, match="max_length 100000"):
        perplexity(tiny_model_dir, plain, max_len=100_000, show_progress=False)
    with pytest.raises(LmforgeError, match="context_len 9"):  # before the model loads
        perplexity(tmp_path / "not-a-model", plain, max_len=8, context_len=9)


def test_eval_perplexity_cli(tiny_model_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text(300, 4), encoding="utf-8")
    out = tmp_path / "ppl"
    code, printed = run_cli(
        capsys, "eval", "perplexity", "--model", str(tiny_model_dir), "--text", str(corpus),
        "--max-length", "64", "--out", str(out),
    )  # fmt: skip
    assert code == 0, printed
    results = json.loads((out / "results.json").read_text())
    assert f"{results['bits_per_byte']:.4f}" in printed
    assert results["max_length"] == 64 and results["tokens"] >= 300
    assert 1 < results["word_perplexity"] < 10_000  # an untrained model: near-uniform, finite
    [document] = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    assert document["tokens"] == results["tokens"]
    manifest = json.loads((out / "lmforge.json").read_text())
    assert manifest["kind"] == "perplexity" and "text" in manifest["inputs"]


def test_rolling_task_in_lmforge_eval(tiny_model_dir, tmp_path):
    from lmforge.eval import evaluate

    docs = [
        {"text": text(30, 5), "lang": "en"},
        {"text": "카모리는 벨덴 지방의 마을이다", "lang": "ko"},
    ]
    (tmp_path / "docs.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8"
    )
    (tmp_path / "ppl.yaml").write_text(
        "data: docs.jsonl\noutput_type: loglikelihood_rolling\nprompt: '{{ text }}'\n",
        encoding="utf-8",
    )
    results = evaluate(tiny_model_dir, [str(tmp_path / "ppl.yaml")], show_progress=False)
    summary = results["tasks"]["ppl"]
    direct = perplexity(tiny_model_dir, tmp_path / "docs.jsonl", show_progress=False)
    for metric in ("word_perplexity", "byte_perplexity", "bits_per_byte"):
        assert summary["metrics"][metric] == pytest.approx(direct[metric], rel=1e-9)
    assert set(summary["by_lang"]) == {"en", "ko"}
