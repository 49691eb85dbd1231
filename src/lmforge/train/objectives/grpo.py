"""GRPO (Shao et al. 2024, DeepSeekMath §4.1): group-relative advantages, no value model.

For each prompt, G completions o_1..o_G with rewards r_1..r_G; every token of o_i gets the
outcome advantage Â_i = (r_i − mean(r)) / (std(r) + 1e-4) (std unbiased, as TRL's
GRPOTrainer computes it). The loss per completion (eq. 3, one inner step):

    L_i = 1/|o_i| Σ_t [ −min(ρ_t Â_i, clip(ρ_t, 1 − ε, 1 + ε) Â_i) + β·KL_t ],
    ρ_t = π(o_i,t | q, o_i,<t) / π_old(...),  KL_t = ref/π − log(ref/π) − 1   (k3, eq. 4)

and the objective sums L_i over completions with weight = completions, so a step's loss is
1/(prompts·G) Σ_i L_i. β defaults to 0.04 (DeepSeekMath), ε to 0.2, G to 4.
"""

from __future__ import annotations

import torch

from lmforge.train.objectives.rl import OnlineObjective, clipped_surrogate, k3_kl, masked_mean

ADVANTAGE_EPS = 1e-4


def group_advantages(rewards: torch.Tensor, group: int) -> torch.Tensor:
    """Rewards `[prompts·G]` (G consecutive per prompt) → Â, normalised within each group."""
    r = rewards.view(-1, group)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + ADVANTAGE_EPS)).flatten()


def grpo_losses(logps, old_logps, ref_logps, advantages, mask, beta: float, epsilon: float):
    """Per-completion L_i `[N]` and clip fraction `[N]`; tensors `[N, C]`, advantages `[N]`."""
    surrogate, clipped = clipped_surrogate(logps, old_logps, advantages[:, None], epsilon)
    per_token = surrogate + beta * k3_kl(logps, ref_logps)
    return masked_mean(per_token, mask), masked_mean(clipped, mask)


class GRPO(OnlineObjective):
    name = "grpo"
    default_beta = 0.04
    default_group = 4

    def sequence_losses(self, logps, ref, values, rewards, mask) -> tuple[torch.Tensor, dict]:
        advantages = group_advantages(rewards, self.group)
        losses, clipped = grpo_losses(
            logps, logps.detach(), ref, advantages, mask, self.beta, self.clip_epsilon
        )
        return losses, {"clip_fraction": float(clipped.sum())}
