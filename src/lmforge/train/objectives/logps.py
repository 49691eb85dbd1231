"""Summed log-probabilities of each row's labelled tokens: what preference objectives compare.

Row r's log-prob is Σ_t log p(labels[r, t] | tokens < t) over the positions whose label is
not -100 (the response), the same quantity TRL's DPOTrainer sums over its completion mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmforge.train.packing import IGNORE


def sequence_logps(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed log-probs `[rows]`, labelled token counts `[rows]`) of the batch's responses."""
    logits = model(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
    ).logits
    return label_logps(logits, batch["labels"])


def label_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    targets = labels[:, 1:]
    # cross_entropy is -log p and 0 where ignored, without materialising a log-softmax copy
    nll = F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        targets.flatten(),
        ignore_index=IGNORE,
        reduction="none",
    ).view(targets.shape)
    return -nll.sum(-1), (targets != IGNORE).sum(-1)


def by_pair(values: torch.Tensor, k: int) -> list[torch.Tensor]:
    """Rows k·i+j → column j: `[chosen, rejected(, mismatched)]`, each `[pairs]`."""
    grouped = values.view(-1, k)
    return [grouped[:, j] for j in range(k)]
