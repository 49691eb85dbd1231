"""PPO with a KL penalty to the reference, InstructGPT-style (Ouyang et al. 2022; Ziegler et
al. 2019), as TRL's PPOTrainer computes it, with one optimisation step per rollout.

Per completion token t (C tokens, the end token included):
- reward   r_t = −β (log π_t − log ref_t), plus the score of the whole completion at its
  last token (the reward model's or the reward function's);
- values   V_t from the value head (`PolicyWithValue`) at the position that predicts token t;
- GAE      δ_t = r_t + γ V_{t+1} − V_t,  A_t = δ_t + γλ A_{t+1} (Schulman et al. 2016), with
  V = 0 past the end; returns R_t = A_t + V_t; advantages whitened over the micro-batch's
  tokens (TRL whitens over its whole batch, lmforge over each micro-batch: the update depends
  on how prompts are grouped into micro-batches);
- loss     −min(ρ_t A_t, clip(ρ_t, 1 − ε, 1 + ε) A_t)
           + c_v · ½ max((V_t − R_t)², (V_old + clip(V_t − V_old, ±ε_v) − R_t)²),
  averaged over the completion's tokens. Defaults: β 0.05, γ 1, λ 0.95, ε 0.2, c_v 0.1,
  ε_v 0.2 (TRL's), one completion per prompt.
"""

from __future__ import annotations

import torch

from lmforge.train.objectives.rl import OnlineObjective, clipped_surrogate, masked_mean


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float):
    """(advantages, returns) `[N, C]` by generalised advantage estimation; 0 past the end."""
    rewards, values = rewards * mask, values * mask
    steps, last, out = rewards.shape[1], torch.zeros_like(rewards[:, 0]), []
    for t in reversed(range(steps)):
        next_value = values[:, t + 1] if t + 1 < steps else torch.zeros_like(last)
        last = rewards[:, t] + gamma * next_value - values[:, t] + gamma * lam * last
        out.append(last)
    advantages = torch.stack(out[::-1], 1) * mask
    return advantages, advantages + values


def whiten(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(x − mean) / std over the masked entries (unbiased variance, as TRL's masked_whiten)."""
    n = mask.sum()
    if n < 2:
        return values
    mean = (values * mask).sum() / n
    var = (((values - mean) * mask) ** 2).sum() / (n - 1)
    return (values - mean) * torch.rsqrt(var + 1e-8) * mask


def token_rewards(logps, ref_logps, scores, mask, beta: float) -> torch.Tensor:
    """−β(log π − log ref) per token, plus each completion's score at its last token."""
    rewards = -beta * (logps - ref_logps) * mask
    last = (mask.sum(-1).long() - 1).clamp(min=0)
    return rewards.index_put((torch.arange(len(last), device=last.device), last), scores, True)


def ppo_losses(logps, values, ref_logps, scores, mask, *, beta, gamma, lam, epsilon,
               value_coef, value_clip):  # fmt: skip
    """Per-completion loss, clip fraction and value loss, each `[N]` (module docstring)."""
    old_logps, old_values = logps.detach(), values.detach()
    with torch.no_grad():
        rewards = token_rewards(old_logps, ref_logps, scores, mask, beta)
        advantages, returns = gae(rewards, old_values, mask, gamma, lam)
        advantages = whiten(advantages, mask)
    policy_loss, clipped = clipped_surrogate(logps, old_logps, advantages, epsilon)
    clipped_values = old_values + (values - old_values).clamp(-value_clip, value_clip)
    value_loss = 0.5 * torch.max((values - returns) ** 2, (clipped_values - returns) ** 2)
    per_sequence = masked_mean(policy_loss, mask) + value_coef * masked_mean(value_loss, mask)
    return per_sequence, masked_mean(clipped, mask), masked_mean(value_loss, mask)


class PPO(OnlineObjective):
    name = "ppo"
    default_beta = 0.05
    default_group = 1
    gamma, lam, value_coef, value_clip = 1.0, 0.95, 0.1, 0.2

    def sequence_losses(self, logps, ref, values, rewards, mask) -> tuple[torch.Tensor, dict]:
        losses, clipped, value_loss = ppo_losses(
            logps, values, ref, rewards, mask, beta=self.beta, gamma=self.gamma, lam=self.lam,
            epsilon=self.clip_epsilon, value_coef=self.value_coef, value_clip=self.value_clip,
        )  # fmt: skip
        return losses, {
            "clip_fraction": float(clipped.sum()),
            "value_loss": float(value_loss.detach().sum()),
        }
