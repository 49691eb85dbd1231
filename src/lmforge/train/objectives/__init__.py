"""Training objectives: `loss(model, batch) -> (loss_sum, metrics)`.

An objective returns the *sum* of its per-token (or per-example) losses and, in metrics,
`"weight"`: how many tokens or examples that sum covers. The loop divides by the total
weight of the whole optimizer step, so gradient accumulation and multi-process training
give exactly the update of one big batch. Other metrics are sums too, divided the same way.
Online RL objectives (GRPO, PPO) sample inside `loss` and define `begin_step(step)`, which
the loop calls before each optimizer step: their sampling seeds come from it.
"""

from lmforge.train.objectives.causal_lm import CausalLM
from lmforge.train.objectives.grpo import GRPO
from lmforge.train.objectives.ppo import PPO
from lmforge.train.objectives.preference import (
    DPO,
    IPO,
    KTO,
    ORPO,
    PREFERENCE_OBJECTIVES,
    SimPO,
)
from lmforge.train.objectives.reward import BradleyTerry

ONLINE_OBJECTIVES = {"grpo": GRPO, "ppo": PPO}  # online RL: `loss` samples (train/rl.py)
OBJECTIVES = {
    "causal_lm": CausalLM, "reward": BradleyTerry, **PREFERENCE_OBJECTIVES, **ONLINE_OBJECTIVES,
}  # fmt: skip

__all__ = [
    "DPO",
    "GRPO",
    "IPO",
    "KTO",
    "OBJECTIVES",
    "ONLINE_OBJECTIVES",
    "ORPO",
    "PPO",
    "PREFERENCE_OBJECTIVES",
    "BradleyTerry",
    "CausalLM",
    "SimPO",
]
