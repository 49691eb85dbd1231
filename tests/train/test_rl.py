"""Online RL (GRPO, PPO): the formulas on hand-made tensors, the lab's arithmetic reward,
short runs on the tiny lab, exact resume, and the errors the CLI gives before any training.

Run: `OMP_NUM_THREADS=1 pytest tests/train/test_rl.py`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lmforge.errors import LmforgeError
from lmforge.lab.rewards import arithmetic
from lmforge.train import rl as rl_module
from lmforge.train.align import align
from lmforge.train.config import TrainConfig
from lmforge.train.objectives.grpo import GRPO, group_advantages, grpo_losses
from lmforge.train.objectives.ppo import gae, token_rewards
from lmforge.train.rl import load_prompts, load_value_head
from support import assert_same_gradients, first_step_gradients, run_cli, single_thread

SHORT = dict(lr=1e-2, seq_len=64, micro_batch_size=4, warmup_steps=0, weight_decay=0.0)
ONLINE = dict(max_new_tokens=8)


def digit_share(prompt: str, completion: str, answer: str | None) -> float:
    """A reward a random tiny model can earn now and then: the share of digits it writes."""
    return sum(c.isdigit() for c in completion) / max(len(completion), 1)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _manifest(out: Path) -> dict:
    return json.loads((out / "lmforge.json").read_text())


# --- formulas -------------------------------------------------------------------------------


def test_group_advantages_are_normalised_within_each_group():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    a = 0.5 / (math.sqrt(1 / 3) + 1e-4)  # mean 0.5, unbiased std √(1/3), eps 1e-4
    expected = torch.tensor([a, -a, -a, a, 0.0, 0.0, 0.0, 0.0])
    assert torch.allclose(group_advantages(rewards, 4), expected)
    # the same rewards in groups of two: each group is normalised on its own
    assert torch.allclose(
        group_advantages(rewards[:4], 2),
        torch.tensor([0.7070, -0.7070, -0.7070, 0.7070]),
        atol=1e-4,
    )


def test_grpo_loss_equals_the_hand_computation():
    logps = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.7, -9.0]], requires_grad=True)
    old = torch.tensor([[-1.3, -1.7, -0.5], [-0.8, -0.2, -9.0]])
    ref = torch.tensor([[-1.2, -2.0, -0.1], [-0.3, -0.2, -1.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    advantages, beta, eps = torch.tensor([1.0, -2.0]), 0.04, 0.2
    losses, clipped = grpo_losses(logps, old, ref, advantages, mask, beta, eps)
    expected, fractions, values = [], [], logps.detach()
    for i in range(2):
        terms, clips = [], []
        for t in range(3 if i == 0 else 2):
            lp, o, r, a = (
                float(values[i, t]),
                float(old[i, t]),
                float(ref[i, t]),
                float(advantages[i]),
            )
            ratio = math.exp(lp - o)
            surrogate = min(ratio * a, min(max(ratio, 1 - eps), 1 + eps) * a)
            kl = math.exp(r - lp) - (r - lp) - 1
            terms.append(-surrogate + beta * kl)
            clips.append(float(min(max(ratio, 1 - eps), 1 + eps) * a < ratio * a))
        expected.append(sum(terms) / len(terms))
        fractions.append(sum(clips) / len(clips))
    assert torch.allclose(losses, torch.tensor(expected), atol=1e-6)
    assert torch.allclose(clipped, torch.tensor(fractions))
    # clipping bites only where it lowers the objective: ρ = e^0.3 > 1.2 with Â > 0 and
    # ρ = e^−0.5 < 0.8 with Â < 0; not ρ = e^−0.3 with Â > 0 nor ρ = e^0.5 with Â < 0
    assert fractions == [1 / 3, 0.5]


def test_one_inner_step_gives_the_plain_policy_gradient():
    """π_old = π: the ratio is 1, nothing clips, and ∂L/∂logπ_t = (−Â + β ∂KL_t)/|o|."""
    logps = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    ref = torch.tensor([[-1.0, -1.5]])
    losses, clipped = grpo_losses(
        logps, logps.detach(), ref, torch.tensor([0.7]), torch.ones(1, 2), 0.1, 0.2
    )
    losses.sum().backward()
    dkl = -torch.exp(ref - logps.detach()) + 1  # d/dπ of e^(r−π) − (r−π) − 1
    assert torch.allclose(logps.grad, (-0.7 + 0.1 * dkl) / 2)
    assert float(clipped.sum()) == 0


def test_gae_and_token_rewards_equal_the_hand_computation():
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    logps, ref = torch.tensor([[-1.0, -1.0, -1.0], [-2.0, -1.0, -5.0]]), torch.full((2, 3), -1.0)
    rewards = token_rewards(logps, ref, torch.tensor([1.0, 3.0]), mask, beta=0.5)
    # −β(π − ref) per token, the score added at each completion's last token, 0 past the end
    assert torch.allclose(rewards, torch.tensor([[0.0, 0.0, 1.0], [0.5, 3.0, 0.0]]))
    values = torch.tensor([[0.5, 0.2, 0.1], [1.0, 2.0, 9.0]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    # row 0: δ = (−0.3, −0.1, 0.9); A_2 = 0.9, A_1 = −0.1 + 0.45, A_0 = −0.3 + 0.175
    # row 1: the value after the end is 0: δ_1 = 3 − 2 = 1, δ_0 = 0.5 + 2 − 1; A_0 = 1.5 + 0.5
    assert torch.allclose(advantages, torch.tensor([[-0.125, 0.35, 0.9], [2.0, 1.0, 0.0]]))
    assert torch.allclose(returns, advantages + values * mask)


@pytest.mark.parametrize(
    ("completion", "answer", "reward"),
    [
        ("Add column by column.\nones: 4 + 1 + 0 = 5, write 5, carry 0\nAnswer: 5555", "5555", 1.0),
        ("Answer: 5,555.", "5555", 1.0),
        ("답: 5555입니다", "5555", 1.0),
        ("정답은 ５５５５", "5555", 1.0),
        ("the answer is −12", "-12", 1.0),
        ("1234 + 4321 = 5555", "5555", 1.0),
        ("Answer: 5554", "5555", 0.0),
        ("= 5555, but Answer: 12", "5555", 0.0),  # the marked answer counts, not any number
        ("I do not know", "5555", 0.0),
        ("", "5555", 0.0),
    ],
)
def test_arithmetic_reward_reads_the_final_number(completion, answer, reward):
    assert arithmetic("What is 1234 + 4321?", completion, answer) == reward


def test_prompt_records_in_every_shape(tmp_path):
    path = tmp_path / "prompts.jsonl"
    records = [
        {"prompt": "What is 1 + 2?", "answer": 3},
        {"messages": [{"role": "user", "content": "3 + 4은 얼마인가요?"},
                      {"role": "assistant", "content": "답: 7"}]},
        {"question": "What is 9 - 8?", "answer": "1"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    loaded = load_prompts([path])
    assert [r.answer for r in loaded] == ["3", "답: 7", "1"]
    assert [r.text for r in loaded] == ["What is 1 + 2?", "3 + 4은 얼마인가요?", "What is 9 - 8?"]
    assert all(r.messages[-1]["role"] == "user" for r in loaded)  # the answer is not shown


# --- runs -----------------------------------------------------------------------------------


def test_grpo_with_lab_arithmetic_logs_metrics(tiny_model_dir, tiny_lab, tmp_path):
    out = tmp_path / "grpo"
    config = TrainConfig(max_steps=2, eval_fraction=0.1, **SHORT)
    with single_thread():
        metrics = align(
            tiny_model_dir, [tiny_lab / "arith" / "train.jsonl"], out, config, method="grpo",
            reward_fn="lab.arithmetic", **ONLINE,
        )  # fmt: skip
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2]
    for record in log:
        assert {"reward", "kl", "completion_length", "clip_fraction"} <= record.keys()
        assert 0 <= record["reward"] <= 1 and 1 <= record["completion_length"] <= 8
        assert record["clip_fraction"] == 0  # one inner step: the ratio is 1
    assert log[0]["kl"] == 0  # step 0: the policy is the reference
    assert 0 <= metrics["held_out_reward"] <= 1 and metrics["held_out_prompts"] == 4
    manifest = _manifest(out)
    assert manifest["kind"] == "aligned"
    expected = {"method": "grpo", "beta": 0.04, "group_size": 4, "reward_fn": "lab.arithmetic"}
    assert expected.items() <= manifest["config"]["align"].items()
    assert (out / "model.safetensors").exists() and not (out / "value_head.safetensors").exists()


def test_grpo_raises_the_reward_and_moves_away_from_the_reference(
    tiny_model_dir, tiny_lab, tmp_path
):
    out = tmp_path / "digits"
    config = TrainConfig(max_steps=10, eval_fraction=0, **SHORT)
    with single_thread():
        align(
            tiny_model_dir, [tiny_lab / "arith" / "train.jsonl"], out, config, method="grpo",
            reward_fn="test_rl.digit_share", **ONLINE,
        )  # fmt: skip
    log = _log(out)
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    assert mean(log[-3:], "reward") > 2 * mean(log[:3], "reward")
    assert log[0]["kl"] == 0 and log[-1]["kl"] > 0.01


def test_grpo_with_lora_uses_the_base_as_reference(tiny_model_dir, tiny_lab, tmp_path):
    out = tmp_path / "lora"
    config = TrainConfig(max_steps=2, eval_fraction=0, **SHORT)
    with single_thread():
        metrics = align(
            tiny_model_dir, [tiny_lab / "arith" / "train.jsonl"], out, config, method="grpo",
            reward_fn="test_rl.digit_share", peft="lora", **ONLINE,
        )  # fmt: skip
    log = _log(out)
    assert log[0]["kl"] == 0 and log[1]["kl"] > 0  # B = 0 at first: adapter off = adapter on
    assert (out / "adapter_model.safetensors").exists() and _manifest(out)["kind"] == "adapter"
    assert metrics["trainable_parameters"] < metrics["total_parameters"]


def test_ppo_with_a_reward_model_trains_and_saves_the_value_head(
    tiny_model_dir, tiny_lab, tmp_path, capsys
):
    rm, out = tmp_path / "rm", tmp_path / "ppo"
    common = ["--model", str(tiny_model_dir), "--seq-len", "64", "--batch-size", "4"]
    with single_thread():
        code, text = run_cli(
            capsys, "reward", *common, "--data", str(tiny_lab / "prefs" / "train.jsonl"),
            "--out", str(rm), "--steps", "4",
        )  # fmt: skip
        assert code == 0, text
        code, text = run_cli(
            capsys, "align", "--method", "ppo", *common, "--reward", str(rm),
            "--data", str(tiny_lab / "arith" / "train.jsonl"), "--out", str(out), "--steps", "3",
            "--max-new-tokens", "8", "--lr", "1e-2", "--set", "eval_fraction=0.1",
        )  # fmt: skip
    assert code == 0, text
    log = _log(out)
    assert {"reward", "kl", "value_loss", "clip_fraction"} <= log[0].keys() and log[0]["kl"] == 0
    assert len({r["reward"] for r in log}) > 1 and log[-1]["value_loss"] > 0
    head = load_value_head(out)
    saved = load_file(out / "value_head.safetensors")
    assert saved["weight"].shape == (1, 64) and saved["weight"].abs().sum() > 0  # trained from 0
    assert torch.equal(head.weight.data, saved["weight"])
    manifest = _manifest(out)
    assert manifest["config"]["align"]["reward"] == str(rm)
    assert any(Path(i["path"]).name == "rm" for i in manifest["inputs"].values())  # lineage


def test_samples_depend_on_their_seed_not_on_their_batch(tiny_model_dir, tiny_lab):
    from lmforge.models.io import load_model
    from lmforge.train.objectives.rl import rollout
    from lmforge.train.rl import prompt_rows

    lm, tokenizer = load_model(tiny_model_dir)
    rows, _ = prompt_rows(tokenizer, load_prompts([tiny_lab / "arith" / "train.jsonl"])[:4], 56)
    objective = GRPO(group_size=2, max_new_tokens=8)

    def texts(index: list[int], step: int) -> list[str]:
        batch = rows.select(torch.tensor(index))
        objective.begin_step(step)
        return rollout(lm, tokenizer, batch, 2, 8, 1.0, objective.seeds(batch)).texts

    with single_thread():
        together, alone, later = texts([0, 1, 2, 3], 0), texts([2], 0), texts([0, 1, 2, 3], 1)
    assert together[4:6] == alone  # prompt 2's two samples, batched with others or not
    assert together[4] != together[5]  # the samples of one prompt differ
    assert together != later  # the next step draws new samples


def _first_step_gradients(model_dir, data, tmp_path, micro: int, accum: int):
    from lmforge.models.io import load_model
    from lmforge.train.objectives.rl import PolicyWithValue
    from lmforge.train.rl import FunctionScorer, prompt_rows

    records = load_prompts(data)[:8]
    policy, tokenizer = load_model(model_dir)
    objective = GRPO(group_size=3, max_new_tokens=8)
    objective.bind(tokenizer, FunctionScorer(digit_share, "digit_share", records))
    objective.reference = load_model(model_dir)[0].eval()
    rows, _ = prompt_rows(tokenizer, records, 56)
    config = TrainConfig(
        max_steps=1, micro_batch_size=micro, grad_accum=accum, warmup_steps=0,
        max_grad_norm=None, eval_fraction=0, seq_len=64,
    )  # fmt: skip
    out = tmp_path / f"m{micro}a{accum}"
    return first_step_gradients(PolicyWithValue(policy), objective, rows, config, out)


def test_grpo_accumulation_equals_one_big_batch(tiny_model_dir, tiny_lab, tmp_path):
    """Completions are seeded per (step, prompt, sample), so two micro-batches of 4 prompts
    sample what one of 8 does, and the summed per-sequence losses give the same gradient."""
    data = [tiny_lab / "arith" / "train.jsonl"]
    with single_thread():
        big = _first_step_gradients(tiny_model_dir, data, tmp_path, micro=8, accum=1)
        accumulated = _first_step_gradients(tiny_model_dir, data, tmp_path, micro=4, accum=2)
    assert_same_gradients(big, accumulated)


class _Crash(RuntimeError):
    pass


def test_grpo_resume_is_exact(tiny_model_dir, tiny_lab, tmp_path, monkeypatch):
    data = [tiny_lab / "arith" / "train.jsonl"]
    config = TrainConfig(max_steps=6, save_every=2, eval_every=3, eval_fraction=0.1, **SHORT)
    run = lambda out: align(  # noqa: E731
        tiny_model_dir, data, out, config, method="grpo", reward_fn="test_rl.digit_share",
        group_size=3, **ONLINE,
    )  # fmt: skip

    steps = []  # the step the loop announced at each loss

    class Crashing(GRPO):
        def loss(self, model, batch):
            steps.append(self.step)
            if len(steps) == 4:  # the eval after step 3; the last checkpoint is step 2
                raise _Crash
            return super().loss(model, batch)

    with single_thread():
        run(tmp_path / "whole")
        monkeypatch.setitem(rl_module.ONLINE_OBJECTIVES, "grpo", Crashing)
        with pytest.raises(_Crash):
            run(tmp_path / "resumed")
        monkeypatch.setitem(rl_module.ONLINE_OBJECTIVES, "grpo", GRPO)
        metrics = run(tmp_path / "resumed")
    assert steps == [0, 1, 2, 2] and metrics["resumed_from"] == 2
    whole, resumed = _log(tmp_path / "whole"), _log(tmp_path / "resumed")
    assert [r["step"] for r in resumed] == list(range(1, 7))
    assert resumed == whole  # losses, rewards, KL, eval losses: identical
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "neither of --reward and --reward-fn"),
        (["--reward-fn", "lab.arithmetic", "--reward", "MODEL"], "both of --reward"),
        (["--reward-fn", "nowhere.fn"], "cannot import nowhere"),
        (["--reward-fn", "nope"], "unknown --reward-fn 'nope'"),
        (["--reward-fn", "test_rl.missing"], "has no function 'missing'"),
        (["--reward", "MODEL"], "is a 'model' artifact, not a reward model"),
        (["--reward-fn", "lab.arithmetic", "--group-size", "1"], "--group-size must be 2"),
        (["--reward-fn", "lab.arithmetic", "--temperature", "0"], "temperature"),
        (["--reward-fn", "lab.arithmetic", "--max-new-tokens", "96"], "leaves no room"),
        (["--reward-fn", "lab.arithmetic", "--beta", "0.1"], "--kl-beta"),
        (["--reward-fn", "lab.arithmetic", "--peft", "prompt"], "virtual tokens"),
    ],
)
def test_cli_refuses_bad_online_settings(
    tiny_model_dir, tiny_lab, tmp_path, capsys, extra, message
):
    extra = [str(tiny_model_dir) if e == "MODEL" else e for e in extra]
    code, text = run_cli(
        capsys, "align", "--method", "grpo", "--model", str(tiny_model_dir),
        "--data", str(tiny_lab / "arith" / "train.jsonl"), "--out", str(tmp_path / "out"),
        "--seq-len", "96", "--steps", "1", *extra,
    )  # fmt: skip
    assert code == 1 and message in " ".join(text.split()), text
    assert not (tmp_path / "out" / "metrics.jsonl").exists()  # refused before any training


def test_prompts_without_prompts_or_answers_are_refused(tiny_model_dir, tiny_lab, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "What is 1 + 2?"}\n{"text": "no prompt here"}\n')
    config = TrainConfig(max_steps=1, **SHORT)
    with pytest.raises(LmforgeError) as e:
        align(
            tiny_model_dir, [bad], tmp_path / "o", config, method="grpo", reward_fn="lab.arithmetic"
        )
    assert f"{bad}:2: the record has no 'prompt'" in e.value.what
    bad.write_text('{"prompt": "What is 1 + 2?"}\n')
    with pytest.raises(LmforgeError, match="1 of 1 prompt records have none"):
        align(
            tiny_model_dir, [bad], tmp_path / "o", config, method="grpo", reward_fn="lab.arithmetic"
        )
    with pytest.raises(LmforgeError, match="for online RL, not --method dpo"):
        align(
            tiny_model_dir, [bad], tmp_path / "o", config, method="dpo", reward_fn="lab.arithmetic"
        )
    bad.write_text("")
    with pytest.raises(LmforgeError, match="is empty"):
        align(
            tiny_model_dir, [bad], tmp_path / "o", config, method="grpo", reward_fn="lab.arithmetic"
        )
