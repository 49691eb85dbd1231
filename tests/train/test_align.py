"""Preference data, the alignment objectives' formulas, and short runs on the lab prefs.

Run: `OMP_NUM_THREADS=1 pytest tests/train/test_align*.py`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.models.io import load_tokenizer
from lmforge.train.align import align
from lmforge.train.config import TrainConfig
from lmforge.train.objectives import DPO, IPO, KTO, ORPO, SimPO
from lmforge.train.prefs import Preference, load_prefs, pair_rows
from lmforge.train.reward import train_reward
from support import single_thread

SHORT = dict(lr=3e-3, seq_len=128, micro_batch_size=8, warmup_steps=0, eval_fraction=0.1)


@pytest.fixture(scope="module")
def lab_prefs(tmp_path_factory) -> Path:
    from lmforge.lab.generate import generate_lab

    out = tmp_path_factory.mktemp("lab") / "lab"
    generate_lab(out, seed=0, size="tiny")
    return out / "prefs" / "train.jsonl"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"prompt": "q", "rejected": "b"}', "'chosen' is missing"),
        ('{"prompt": "q", "chosen": "a", "rejected": "  "}', "'rejected' is '  '"),
        ('{"prompt": [], "chosen": "a", "rejected": "b"}', "'prompt' must be"),
        ('{"prompt": [{"role": "bot", "content": "q"}], "chosen": "a", "rejected": "b"}', "role"),
    ],
)
def test_invalid_records_name_file_and_line(tmp_path, record, problem):
    good = '{"prompt": "q", "chosen": "a", "rejected": "b"}'
    path = _write(tmp_path / "prefs.jsonl", [good, "", record])
    with pytest.raises(LmforgeError) as e:
        load_prefs([path])
    assert f"{path}:3:" in e.value.what and problem in e.value.what


def test_pairs_stay_together_and_only_responses_train(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    history = [
        {"role": "user", "content": "the town"},
        {"role": "assistant", "content": "of kamori"},
        {"role": "user", "content": "its export?"},
    ]
    prefs = [Preference(history, "copper", "fox"), Preference([history[0]], "yes", "no")]
    rows, metrics = pair_rows(tokenizer, prefs, 64)
    assert metrics["pairs"] == 2 and rows.tensors["input_ids"].shape == (2, 2, 64)
    batch = rows.select(torch.tensor([1, 0]))  # pair 1 first: its two sequences come together
    pairs = zip(batch["input_ids"], batch["labels"], strict=True)
    trained = [tokenizer.decode(r[lab != -100]) for r, lab in pairs]
    assert trained == [" yes<|im_end|>", " no<|im_end|>", " copper<|im_end|>", " fox<|im_end|>"]
    # the earlier assistant turn is context: it is in the input but not trained
    assert "of kamori" in tokenizer.decode(batch["input_ids"][2])


def _stub_model(logits: torch.Tensor):
    """Fixed logits per row; a row's first input id says which row it is (KTO splits rows)."""
    return lambda input_ids, position_ids, use_cache: SimpleNamespace(
        logits=logits[input_ids[:, 0]]
    )


def _hand_logps(logits: torch.Tensor, labels: torch.Tensor) -> list[tuple[float, int]]:
    """Σ log softmax(logits[t-1])[labels[t]] over labelled t, in plain Python."""
    out = []
    for row_logits, row_labels in zip(logits.tolist(), labels.tolist(), strict=True):
        total, n = 0.0, 0
        for t in range(1, len(row_labels)):
            if row_labels[t] != -100:
                z = row_logits[t - 1]
                total += z[row_labels[t]] - math.log(sum(math.exp(v) for v in z))
                n += 1
        out.append((total, n))
    return out


def _batch(rows: int, k: int = 2):
    g = torch.Generator().manual_seed(rows)
    labels = torch.randint(0, 7, (rows, 6), generator=g)
    labels[:, :2] = -100
    labels[1, 5] = -100  # different response lengths
    batch = {"input_ids": torch.arange(rows).repeat(6, 1).T.contiguous(), "labels": labels}
    batch["position_ids"] = torch.arange(6).repeat(rows, 1)
    batch["ref_logps"] = -torch.rand(rows, generator=g) * 8
    return batch, 2 * torch.randn(rows, 6, 7, generator=g)


def _sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_each_loss_equals_the_hand_computation():
    beta, gamma = 0.3, 0.5
    batch, logits = _batch(4)
    lp = _hand_logps(logits, batch["labels"])
    ref = batch["ref_logps"].tolist()
    expected = {"dpo": 0.0, "ipo": 0.0, "simpo": 0.0, "orpo": 0.0}
    for i in (0, 2):
        (pc, nc), (pr, nr), rc, rr = lp[i], lp[i + 1], ref[i], ref[i + 1]
        expected["dpo"] += -math.log(_sig(beta * ((pc - rc) - (pr - rr))))
        expected["ipo"] += ((pc - rc) / nc - (pr - rr) / nr - 1 / (2 * beta)) ** 2
        expected["simpo"] += -math.log(_sig(beta * (pc / nc - pr / nr) - gamma))
        odds = lambda p: p - math.log(1 - math.exp(p))  # noqa: E731
        expected["orpo"] += -pc / nc - beta * math.log(_sig(odds(pc / nc) - odds(pr / nr)))
    objectives = {
        "dpo": DPO(beta),
        "ipo": IPO(beta),
        "simpo": SimPO(beta, gamma),
        "orpo": ORPO(beta),
    }
    for name, objective in objectives.items():
        loss, metrics = objective.loss(_stub_model(logits), batch)
        assert metrics["weight"] == 2
        assert float(loss) == pytest.approx(expected[name], rel=1e-5), name


def test_kto_loss_equals_the_hand_computation():
    beta = 0.5
    batch, logits = _batch(6, k=3)
    lp = [x for x, _ in _hand_logps(logits, batch["labels"])]
    ref = batch["ref_logps"].tolist()
    z = max(0.0, ((lp[2] - ref[2]) + (lp[5] - ref[5])) / 2)  # mismatched rows 2 and 5
    expected = sum(
        (1 - _sig(beta * (lp[i] - ref[i] - z))) + (1 - _sig(beta * (z - (lp[i + 1] - ref[i + 1]))))
        for i in (0, 3)
    )
    loss, metrics = KTO(beta).loss(_stub_model(logits), batch)
    assert metrics["weight"] == 4  # two examples per pair
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", ["dpo", "ipo", "kto", "orpo", "simpo"])
def test_alignment_learns_the_training_pairs(tiny_model_dir, lab_prefs, tmp_path, method):
    config = TrainConfig(max_steps=24, **SHORT)
    with single_thread():
        metrics = align(tiny_model_dir, [lab_prefs], tmp_path / method, config, method=method)
    log = _log(tmp_path / method)
    first, last = log[:6], log[-6:]
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    assert mean(last, "loss") < mean(first, "loss")
    assert mean(last, "reward_accuracy") > mean(first, "reward_accuracy")
    assert "held_out_reward_accuracy" in metrics
    manifest = json.loads((tmp_path / method / "lmforge.json").read_text())
    assert manifest["kind"] == "aligned" and manifest["config"]["align"]["method"] == method


def test_reward_model_learns_and_loads_with_transformers(tiny_model_dir, lab_prefs, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = tmp_path / "rm"
    with single_thread():
        metrics = train_reward(tiny_model_dir, [lab_prefs], out, TrainConfig(max_steps=30, **SHORT))
    log = _log(out)
    assert sum(r["reward_accuracy"] for r in log[-8:]) / 8 > 0.5
    assert 0 <= metrics["held_out_reward_accuracy"] <= 1
    assert json.loads((out / "lmforge.json").read_text())["kind"] == "reward-model"
    model = AutoModelForSequenceClassification.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer(["the town of kamori", "copper"], return_tensors="pt", padding=True)
    assert model(**ids).logits.shape == (2, 1)
