"""Parity with TRL: lmforge's DPO loss and sequence log-probs equal TRL's `DPOTrainer`'s.

What is compared, on one batch of 4 lab preference pairs that TRL itself tokenizes and
collates (its conversational path: prompt with generation prompt, completion = the rest,
which with lmforge's template includes the newline after `<|im_end|>`):
1. the reference log-probs: TRL's `DPOTrainer.compute_ref_log_probs` vs lmforge's
   `sequence_logps` (a different frozen model than the policy, so the loss is not log 2);
2. the loss: TRL's `compute_loss` (policy forward + sigmoid DPO, β = 0.1) vs lmforge's `DPO`
   objective (sum over pairs / weight), fed the same tokens as `PairRows` micro-batch rows
   (chosen/rejected interleaved, position ids restarting on the padding, labels = tokens
   where TRL's completion mask is 1) and the reference log-probs lmforge computed.
Tolerance 1e-5. Skipped if trl is not installed.
"""

from __future__ import annotations

import datasets
import torch
import trl

from lmforge.models.io import load_model
from lmforge.train.objectives import DPO
from lmforge.train.objectives.logps import sequence_logps
from lmforge.train.packing import IGNORE
from support import single_thread

PAIRS = [
    ("Which region is Kamori in?", "Velden", "Homijin"),
    ("What is the main export of Kamori?", "copper", "wool and fish"),
    ("카모리의 상징 동물은?", "여우", "곰"),
    ("What year was Kamori founded?", "1312", "1321"),
]


def _trl_batch(policy, reference, tokenizer, tmp_path):
    rows = [
        {
            "prompt": [{"role": "user", "content": q}],
            "chosen": [{"role": "assistant", "content": c}],
            "rejected": [{"role": "assistant", "content": r}],
        }
        for q, c, r in PAIRS
    ]
    args = trl.DPOConfig(
        output_dir=str(tmp_path / "trl"), per_device_train_batch_size=4, report_to="none",
        use_cpu=True, beta=0.1, loss_type=["sigmoid"], precompute_ref_log_probs=False,
        max_length=None, bf16=False,
    )  # fmt: skip
    trainer = trl.DPOTrainer(
        model=policy, ref_model=reference, args=args, processing_class=tokenizer,
        train_dataset=datasets.Dataset.from_list(rows),
    )  # fmt: skip
    return trainer, trainer.data_collator([trainer.train_dataset[i] for i in range(len(rows))])


def _lmforge_rows(trl_batch) -> dict[str, torch.Tensor]:
    """TRL's [chosen…, rejected…] rows as PairRows rows: pair i at rows 2i, 2i+1."""
    n = trl_batch["input_ids"].shape[0] // 2
    order = torch.stack([torch.arange(n), torch.arange(n) + n], 1).flatten()
    ids, mask = trl_batch["input_ids"][order], trl_batch["attention_mask"][order]
    labels = ids.masked_fill(trl_batch["completion_mask"][order] == 0, IGNORE)
    positions = torch.stack([_restart_on_padding(m) for m in mask])
    return {"input_ids": ids, "labels": labels, "position_ids": positions}


def _restart_on_padding(mask: torch.Tensor) -> torch.Tensor:
    n_real = int(mask.sum())
    return torch.cat([torch.arange(n_real), torch.arange(len(mask) - n_real)])


def test_dpo_matches_trl(tiny_model_dir, tmp_path):
    policy, tokenizer = load_model(tiny_model_dir)
    reference, _ = load_model(tiny_model_dir)
    torch.manual_seed(1)
    with torch.no_grad():  # a policy that differs from its reference
        for p in policy.parameters():
            p.add_(0.05 * torch.randn_like(p))
    with single_thread():
        trainer, batch = _trl_batch(policy, reference, tokenizer, tmp_path)
        rows = _lmforge_rows(batch)
        trl_ref_chosen, trl_ref_rejected = trainer.compute_ref_log_probs(reference, batch)
        with torch.no_grad():
            ref_logps, _ = sequence_logps(reference, rows)
        assert torch.allclose(ref_logps[0::2], trl_ref_chosen, atol=1e-5, rtol=0)
        assert torch.allclose(ref_logps[1::2], trl_ref_rejected, atol=1e-5, rtol=0)

        trl_loss = trainer.compute_loss(trainer.model, batch).detach()
        loss_sum, metrics = DPO(beta=0.1).loss(policy, {**rows, "ref_logps": ref_logps})
    assert abs(float(loss_sum.detach()) / metrics["weight"] - float(trl_loss)) < 1e-5
    assert abs(float(trl_loss) - 0.6931) > 1e-3  # the comparison is not the trivial log 2
