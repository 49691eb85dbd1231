"""Next-token cross-entropy on the labelled tokens: pretraining and SFT alike.

Pretraining labels every token; SFT labels only the assistant's tokens. The difference
lives in the data (`labels == -100` is not trained), not here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmforge.train.packing import IGNORE


class CausalLM:
    name = "causal_lm"

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        targets = batch["labels"][:, 1:]
        loss_sum = F.cross_entropy(
            logits[:, :-1].flatten(0, 1).float(),
            targets.flatten(),
            ignore_index=IGNORE,
            reduction="sum",
        )
        return loss_sum, {"weight": int((targets != IGNORE).sum())}

    @staticmethod
    def weight(batch: dict[str, torch.Tensor]) -> int:
        """The tokens this batch trains, known before the forward pass."""
        return int((batch["labels"][:, 1:] != IGNORE).sum())
