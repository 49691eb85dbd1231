"""Preference objectives on (chosen, rejected) pairs: DPO, IPO, KTO, ORPO, SimPO.

Batches come from `train.prefs.PairRows`: rows k·i … k·i+k-1 are pair i's sequences and
`ref_logps` holds the frozen reference's summed log-probs (computed once before training).
Each objective returns the *sum* of per-pair losses (per-example for KTO) and the weight
those cover; extra metrics are sums too (the loop divides them by the step's weight).

Formulas (π = policy, ref = reference, log-probs summed over the response unless "avg"):
- dpo:   -log σ(β·[(π_c - ref_c) - (π_r - ref_r)])                         (TRL "sigmoid")
- ipo:   ((π_c - ref_c)/n_c - (π_r - ref_r)/n_r - 1/(2β))²                 (TRL "ipo")
- simpo: -log σ(β·(avg π_c - avg π_r) - γ)          no reference            (TRL CPO "simpo")
- orpo:  NLL(chosen, per token) - λ·log σ(log odds(avg π_c) - log odds(avg π_r)), no reference
- kto:   1 - σ(β·(π_c - ref_c - z)) for chosen and 1 - σ(β·(z - (π_r - ref_r))) for rejected,
         z = max(0, mean over the micro-batch of (π - ref) on mismatched prompt/answer pairs),
         no gradient through z (TRL's KTOTrainer).
Rewards for metrics: β·(π - ref) (DPO/IPO/KTO), β·avg π (SimPO), λ·avg π (ORPO), as TRL logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmforge.train.objectives.logps import by_pair, sequence_logps


def dpo_losses(pc, pr, rc, rr, beta: float):
    chosen, rejected = beta * (pc - rc), beta * (pr - rr)
    return -F.logsigmoid(chosen - rejected), chosen, rejected


def ipo_losses(pc, pr, rc, rr, nc, nr, beta: float):
    delta = (pc - rc) / nc.clamp(min=1) - (pr - rr) / nr.clamp(min=1)
    return (delta - 1 / (2 * beta)) ** 2, beta * (pc - rc), beta * (pr - rr)


def simpo_losses(pc, pr, nc, nr, beta: float, gamma: float):
    chosen, rejected = beta * pc / nc.clamp(min=1), beta * pr / nr.clamp(min=1)
    return -F.logsigmoid(chosen - rejected - gamma), chosen, rejected


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, stable on both sides of -ln 2 (as TRL's ORPO computes it)."""
    return torch.where(
        x < -0.6931471805599453, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x))
    )


def orpo_losses(pc, pr, nc, nr, lam: float):
    avg_c, avg_r = pc / nc.clamp(min=1), pr / nr.clamp(min=1)
    log_odds = (avg_c - avg_r) - (log1mexp(avg_c) - log1mexp(avg_r))
    return -avg_c - lam * F.logsigmoid(log_odds), lam * avg_c, lam * avg_r


def kto_losses(pc, pr, rc, rr, kl_policy, kl_ref, beta: float):
    """Per-example losses `[2·pairs]` (chosen then rejected) and the KL baseline z."""
    z = (kl_policy - kl_ref).mean().detach().clamp(min=0)
    chosen, rejected = beta * (pc - rc), beta * (pr - rr)
    losses = torch.cat(
        [1 - torch.sigmoid(chosen - beta * z), 1 - torch.sigmoid(beta * z - rejected)]
    )
    return losses, chosen, rejected, z


class PairObjective:
    """Shared by the pairwise objectives: forward once over 2·pairs rows, split, metrics."""

    name = "pairs"
    k = 2  # sequences per pair
    needs_reference = True
    default_beta = 0.1

    def __init__(self, beta: float | None = None):
        self.beta = self.default_beta if beta is None else beta

    def weight(self, batch: dict[str, torch.Tensor]) -> int:
        """Pairs in the batch: every pair counts once, however long its answers are."""
        return batch["input_ids"].shape[0] // self.k

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        logps, counts = sequence_logps(model, batch)
        ref = batch["ref_logps"] if self.needs_reference else torch.zeros_like(logps)
        losses, chosen, rejected = self.pair_losses(
            by_pair(logps, self.k), by_pair(ref.to(logps.dtype), self.k), by_pair(counts, self.k)
        )
        return losses.sum(), {"weight": self.weight(batch), **_reward_metrics(chosen, rejected)}

    def pair_losses(self, policy, ref, counts):
        raise NotImplementedError


def _reward_metrics(chosen: torch.Tensor, rejected: torch.Tensor, per: int = 1) -> dict:
    """Sums over pairs (the loop divides by the step's weight); `per` = weight per pair."""
    chosen, rejected = chosen.detach().float(), rejected.detach().float()
    return {
        "reward_accuracy": per * float((chosen > rejected).sum()),
        "reward_margin": per * float((chosen - rejected).sum()),
        "reward_chosen": per * float(chosen.sum()),
        "reward_rejected": per * float(rejected.sum()),
    }


class DPO(PairObjective):
    name = "dpo"

    def pair_losses(self, policy, ref, counts):
        return dpo_losses(policy[0], policy[1], ref[0], ref[1], self.beta)


class IPO(PairObjective):
    name = "ipo"

    def pair_losses(self, policy, ref, counts):
        return ipo_losses(policy[0], policy[1], ref[0], ref[1], counts[0], counts[1], self.beta)


class SimPO(PairObjective):
    name = "simpo"
    needs_reference = False
    default_beta = 2.0

    def __init__(self, beta: float | None = None, gamma: float = 0.5):
        super().__init__(beta)
        self.gamma = gamma

    def pair_losses(self, policy, ref, counts):
        return simpo_losses(policy[0], policy[1], counts[0], counts[1], self.beta, self.gamma)


class ORPO(PairObjective):
    """`beta` is ORPO's λ, the weight of the odds-ratio term beside the chosen answer's NLL."""

    name = "orpo"
    needs_reference = False

    def pair_losses(self, policy, ref, counts):
        return orpo_losses(policy[0], policy[1], counts[0], counts[1], self.beta)


class KTO(PairObjective):
    """Unpaired: each pair gives a desirable (chosen) and an undesirable (rejected) example,
    so the weight is 2 per pair; a third, mismatched sequence per pair feeds the KL baseline."""

    name = "kto"
    k = 3

    def weight(self, batch: dict[str, torch.Tensor]) -> int:
        return 2 * (batch["input_ids"].shape[0] // self.k)

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        n = batch["input_ids"].shape[0]
        answers = torch.arange(n, device=batch["input_ids"].device) % self.k != 2
        pick = {name: t[answers] for name, t in batch.items() if name != "ref_logps"}
        logps, _ = sequence_logps(model, pick)
        with torch.no_grad():  # TRL computes the KL sequences' log-probs without gradient
            kl = {name: t[~answers] for name, t in batch.items() if name != "ref_logps"}
            kl_policy, _ = sequence_logps(model, kl)
        pc, pr = by_pair(logps, 2)
        rc, rr, kl_ref = by_pair(batch["ref_logps"].to(logps.dtype), self.k)
        losses, chosen, rejected, z = kto_losses(pc, pr, rc, rr, kl_policy, kl_ref, self.beta)
        metrics = _reward_metrics(chosen, rejected, per=2)
        return losses.sum(), {"weight": self.weight(batch), "kl": float(z) * len(losses), **metrics}


PREFERENCE_OBJECTIVES = {cls.name: cls for cls in (DPO, IPO, KTO, ORPO, SimPO)}
