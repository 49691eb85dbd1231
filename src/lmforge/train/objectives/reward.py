"""Bradley–Terry pairwise loss for a reward model: -log σ(r(chosen) - r(rejected)).

The model is `AutoModelForSequenceClassification` with one label (see `train.reward`): its
score of a sequence is read at the last non-padding token. Batches are `PairRows`
micro-batches (rows 2i, 2i+1 = chosen, rejected of pair i); the weight is the number of pairs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmforge.train.objectives.logps import by_pair


def scores(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """One scalar per row, `[rows]`."""
    out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False)
    return out.logits.squeeze(-1).float()


class BradleyTerry:
    name = "reward"

    def weight(self, batch: dict[str, torch.Tensor]) -> int:
        return batch["input_ids"].shape[0] // 2

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        chosen, rejected = by_pair(scores(model, batch), 2)
        losses = -F.logsigmoid(chosen - rejected)
        margin = (chosen - rejected).detach()
        return losses.sum(), {
            "weight": self.weight(batch),
            "reward_accuracy": float((margin > 0).sum()),
            "reward_margin": float(margin.sum()),
        }
