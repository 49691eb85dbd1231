"""`lmforge align`: preference optimisation (DPO, IPO, KTO, ORPO, SimPO) on the shared loop;
`--method grpo|ppo` hands over to online RL (`train.rl`).

The preference records become `PairRows` (see `train.prefs`); DPO, IPO and KTO compare the
policy with a frozen reference whose log-probs are computed once, before training, by the
model in `--model` (loaded, used and dropped before the trained copy's optimizer exists).
With `--peft`, the reference is that same base without the adapter. ORPO and SimPO need no
reference. The training itself is `train.run.fit_and_save` → `train.loop.train`.

Python: `align(model, [prefs], out, TrainConfig(...), method="dpo", beta=0.1)`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model
from lmforge.train.config import TrainConfig
from lmforge.train.methods import PeftOptions, build_method
from lmforge.train.objectives import PREFERENCE_OBJECTIVES, SimPO
from lmforge.train.prefs import PairRows, attach_reference, load_prefs, pair_rows
from lmforge.train.run import fit_and_save

ONLINE_METHODS = ("grpo", "ppo")  # online RL: train/rl.py


def make_objective(method: str, beta: float | None = None, gamma: float = 0.5):
    if method not in PREFERENCE_OBJECTIVES:
        choices = ", ".join([*PREFERENCE_OBJECTIVES, *ONLINE_METHODS])
        raise LmforgeError(f"unknown --method {method!r}.", f"Choose one of: {choices}.")
    cls = PREFERENCE_OBJECTIVES[method]
    return SimPO(beta, gamma) if cls is SimPO else cls(beta)


def held_out(objective, batch_size: int):
    """`after_train` callback: the objective's loss and metrics averaged over held-out pairs."""

    @torch.no_grad()
    def measure(model, rows: PairRows | None) -> dict:
        if rows is None or not len(rows):
            return {}
        was_training, device = model.training, next(model.parameters()).device
        model.eval()
        sums, weight = {"loss": 0.0}, 0
        for start in range(0, len(rows), batch_size):
            batch = {
                k: v.to(device) for k, v in rows.select(slice(start, start + batch_size)).items()
            }
            loss, metrics = objective.loss(model, batch)
            weight += metrics.pop("weight")
            sums["loss"] += float(loss)
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + float(value)
        model.train(was_training)
        return {f"held_out_{k}": v / max(weight, 1) for k, v in sums.items()}

    return measure


def align(
    model: Path,
    data: list[Path],
    out: Path,
    config: TrainConfig,
    method: str = "dpo",
    beta: float | None = None,
    gamma: float = 0.5,
    overwrite: bool = False,
    peft: PeftOptions | str | None = None,
    reward: Path | None = None,
    reward_fn: str | None = None,
    group_size: int | None = None,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    kl_beta: float | None = None,
) -> dict:
    """Align the model in `model` to the preference pairs in `data`; write it to `out`.

    `method="grpo"|"ppo"`: online RL on the prompts in `data` with `reward` (a reward-model
    directory) or `reward_fn` and the options after it (see `train.rl`).
    """
    if method in ONLINE_METHODS:
        from lmforge.train.rl import align_online, rl_options

        if beta is not None:
            raise LmforgeError("--beta is for preference methods.", "Give --kl-beta for grpo/ppo.")
        options = rl_options(
            method=method, reward=reward, reward_fn=reward_fn, group_size=group_size,
            max_new_tokens=max_new_tokens, temperature=temperature, kl_beta=kl_beta,
        )  # fmt: skip
        return align_online(model, data, out, config, options, overwrite, peft)
    if reward is not None or reward_fn is not None:
        raise LmforgeError(
            f"--reward/--reward-fn are for online RL, not --method {method}.",
            "Use --method grpo or ppo, or drop them.",
        )
    objective = make_objective(method, beta, gamma)
    prefs = load_prefs(data)  # every record checked before any weights load
    peft_method = build_method(peft) if peft is not None else None

    def build_rows(tokenizer):
        rows, metrics = pair_rows(tokenizer, prefs, config.seq_len, mismatched=objective.k == 3)
        if objective.needs_reference and len(rows):
            reference, _ = load_model(model)  # the initial weights, frozen; freed after this
            rows = attach_reference(reference, rows, config.micro_batch_size)
        return rows, metrics

    settings = {"align": {"method": method, "beta": objective.beta}}
    if isinstance(objective, SimPO):
        settings["align"]["gamma"] = gamma
    wrapped = peft_method.objective(objective) if peft_method else objective
    return fit_and_save(
        "aligned", model, data, out, config, build_rows, objective, overwrite, peft_method,
        after_train=held_out(wrapped, config.micro_batch_size), extra_config=settings,
    )  # fmt: skip
