"""`lmforge reward`: train a reward model on preference pairs (Bradley–Terry).

The model is `AutoModelForSequenceClassification(num_labels=1)` built on the causal LM's
weights: transformers puts a fresh linear `score` head on the decoder and reads it at the
last non-padding token. Chosen so the result is a plain Hugging Face directory that anything
(transformers, TRL's PPO/RLOO, …) loads without lmforge; a hand-made value head would need
lmforge's code to load. Loss: -log σ(r(prompt, chosen) - r(prompt, rejected)), one weight
per pair, on the shared loop. The manifest (kind `reward-model`) holds held-out pairwise
accuracy (`held_out_reward_accuracy`).

Python: `train_reward(model, [prefs], out, TrainConfig(...))`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification

from lmforge.models.io import check_tokenizer_matches, load_config, load_tokenizer
from lmforge.train.align import held_out
from lmforge.train.config import TrainConfig
from lmforge.train.methods import Method
from lmforge.train.objectives import BradleyTerry
from lmforge.train.prefs import load_prefs, pair_rows
from lmforge.train.run import fit_and_save


class _HeadOptions:
    def for_manifest(self) -> dict:
        return {"head": "AutoModelForSequenceClassification", "num_labels": 1}


class RewardHead(Method):
    """Every parameter trains; the model loads with a scalar head and saves as such."""

    name = "reward-head"
    kind = "reward-model"

    def __init__(self, seed: int):
        super().__init__(_HeadOptions())
        self.seed = seed

    def load(self, model_dir: Path):
        load_config(model_dir)
        tokenizer = load_tokenizer(model_dir)
        torch.manual_seed(self.seed)  # the new score head: the same on every run
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, num_labels=1, dtype=torch.float32
        )
        # the score is read at the last token that is not padding
        model.config.pad_token_id = tokenizer.pad_token_id
        check_tokenizer_matches(tokenizer, model.config, model_dir)
        return model, tokenizer


def train_reward(
    model: Path, data: list[Path], out: Path, config: TrainConfig, overwrite: bool = False
) -> dict:
    """Train a reward model from the model in `model` on the pairs in `data`; write to `out`."""
    prefs = load_prefs(data)
    objective = BradleyTerry()
    return fit_and_save(
        "reward-model", model, data, out, config,
        lambda tokenizer: pair_rows(tokenizer, prefs, config.seq_len),
        objective, overwrite, RewardHead(config.seed),
        after_train=held_out(objective, config.micro_batch_size),
    )  # fmt: skip
