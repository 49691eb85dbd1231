"""QLoRA: LoRA on a base model loaded in 4-bit NF4 with double quantization (bitsandbytes),
trained with paged 8-bit AdamW.

This needs bitsandbytes and a CUDA GPU. Elsewhere `check()` refuses before anything is
loaded and points at `--peft lora` (the same adapters on a full-precision base). The GPU
path follows the documented transformers/peft/bitsandbytes API but is not exercised by the
test suite, which runs on CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from lmforge.errors import LmforgeError
from lmforge.models.io import check_tokenizer_matches, load_config, load_tokenizer
from lmforge.train.methods.peft_methods import LoRA

FIX = "Use --peft lora: the same low-rank adapters, on a full-precision base model."


def qlora_unavailable() -> str | None:
    """Why 4-bit training cannot run here, or None if it can."""
    if importlib.util.find_spec("bitsandbytes") is None:
        return "QLoRA needs the bitsandbytes package, which is not installed"
    if not torch.cuda.is_available():
        return "QLoRA needs a CUDA GPU for bitsandbytes' 4-bit NF4 kernels; this machine has none"
    return None


class QLoRA(LoRA):
    name = "qlora"
    optimizer = "paged_adamw_8bit"

    def check(self) -> None:
        reason = qlora_unavailable()
        if reason:
            raise LmforgeError(f"{reason}.", FIX)

    def load(self, model_dir: Path):
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig

        load_config(model_dir)
        tokenizer = load_tokenizer(model_dir)
        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, quantization_config=quantization, dtype=torch.bfloat16
        )
        check_tokenizer_matches(tokenizer, model.config, model_dir)
        return model, tokenizer

    def prepare(self, model):
        from peft import prepare_model_for_kbit_training

        # casts norms to fp32 and enables input grads, as the QLoRA recipe requires
        model = prepare_model_for_kbit_training(model)
        return super().prepare(model)

    def counts(self, model) -> dict:
        # 4-bit weights hold two parameters per stored element: peft's count knows that
        trainable, total = model.get_nb_trainable_parameters()
        return {
            "trainable_parameters": trainable,
            "total_parameters": total,
            "trainable_percent": round(100 * trainable / max(total, 1), 4),
        }
