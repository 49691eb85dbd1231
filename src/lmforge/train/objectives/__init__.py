"""Training objectives: `loss(model, batch) -> (loss_sum, metrics)`.

An objective returns the *sum* of its per-token (or per-example) losses and, in metrics,
`"weight"`: how many tokens or examples that sum covers. The loop divides by the total
weight of the whole optimizer step, so gradient accumulation and multi-process training
give exactly the update of one big batch. Other metrics are sums too, divided the same way.
"""

from lmforge.train.objectives.causal_lm import CausalLM
from lmforge.train.objectives.preference import (
    DPO,
    IPO,
    KTO,
    ORPO,
    PREFERENCE_OBJECTIVES,
    SimPO,
)
from lmforge.train.objectives.reward import BradleyTerry

OBJECTIVES = {"causal_lm": CausalLM, "reward": BradleyTerry, **PREFERENCE_OBJECTIVES}

__all__ = [
    "DPO",
    "IPO",
    "KTO",
    "OBJECTIVES",
    "ORPO",
    "PREFERENCE_OBJECTIVES",
    "BradleyTerry",
    "CausalLM",
    "SimPO",
]
