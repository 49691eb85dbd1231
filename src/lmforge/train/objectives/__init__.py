"""Training objectives: `loss(model, batch) -> (loss_sum, metrics)`.

An objective returns the *sum* of its per-token (or per-example) losses and, in metrics,
`"weight"`: how many tokens or examples that sum covers. The loop divides by the total
weight of the whole optimizer step, so gradient accumulation and multi-process training
give exactly the update of one big batch.
"""

from lmforge.train.objectives.causal_lm import CausalLM

OBJECTIVES = {"causal_lm": CausalLM}

__all__ = ["OBJECTIVES", "CausalLM"]
