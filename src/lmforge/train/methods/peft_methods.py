"""Methods the `peft` library implements: LoRA, DoRA, IA3, prefix, prompt, P-tuning, LLaMA-Adapter.

Each builds a peft config from `PeftOptions` and wraps the model with `get_peft_model`, which
freezes the base. The run saves the adapter in peft's own format (`adapter_config.json` +
`adapter_model.safetensors`), so `peft.PeftModel.from_pretrained(base, out)` opens it.

Prompt and P-tuning put learned embeddings in front of every row and prefix tuning puts
learned keys/values there: a row must then hold one conversation (packed ones would share
the prefix position and see each other), and the logits of the virtual positions are
dropped before the loss (`VirtualTokens`).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from torch import nn

from lmforge.errors import LmforgeError
from lmforge.train.methods.base import Method, check_targets, linear_module_names

FEEDFORWARD_PARENTS = ("mlp", "feed_forward", "ffn")


class PeftMethod(Method):
    kind = "adapter"

    def peft_config(self, model: nn.Module):
        raise NotImplementedError

    def prepare(self, model: nn.Module) -> nn.Module:
        from peft import get_peft_model

        config = self.peft_config(model)
        try:
            return get_peft_model(model, config)
        except (ValueError, TypeError, KeyError, NotImplementedError) as e:
            raise LmforgeError(
                f"peft cannot apply --peft {self.name} to {type(model).__name__}: {e}",
                "Choose another --peft method or other --target-modules.",
            ) from None

    def save(self, model: nn.Module, tokenizer, out: Path) -> None:
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)

    def targets(self, model: nn.Module) -> list[str]:
        if self.options.target_modules:
            check_targets(model, self.options.target_modules)
            return list(self.options.target_modules)
        return linear_module_names(model)


class LoRA(PeftMethod):
    name = "lora"
    dora = False

    def peft_config(self, model):
        from peft import LoraConfig, TaskType

        o = self.options
        return LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=o.lora_r, lora_alpha=o.lora_alpha,
            lora_dropout=o.lora_dropout, target_modules=self.targets(model),
            use_rslora=o.rslora, use_dora=self.dora,
        )  # fmt: skip


class DoRA(LoRA):
    name = "dora"
    dora = True


class IA3(PeftMethod):
    """Learned scaling vectors: on keys, values and the MLP's down-projection input by default."""

    name = "ia3"
    default_targets = ("k_proj", "v_proj", "down_proj")

    def peft_config(self, model):
        from peft import IA3Config, TaskType

        if self.options.target_modules:
            targets = self.targets(model)
        else:
            targets = [t for t in self.default_targets if t in linear_module_names(model)]
            if not targets:
                raise LmforgeError(
                    "IA3 has no default modules for this architecture.",
                    f"Give --target-modules from: {', '.join(linear_module_names(model))}.",
                )
        return IA3Config(
            task_type=TaskType.CAUSAL_LM,
            target_modules=targets,
            feedforward_modules=feedforward_names(model, targets),
        )


def feedforward_names(model: nn.Module, targets: list[str]) -> list[str]:
    """Targets that live in an MLP: IA3 scales their input rather than their output."""
    found = set()
    for name, _ in model.named_modules():
        parts = name.split(".")
        if parts[-1] in targets and any(p in FEEDFORWARD_PARENTS for p in parts[:-1]):
            found.add(parts[-1])
    return sorted(found)


class VirtualTokenMethod(PeftMethod):
    packs = False

    @property
    def virtual_tokens(self) -> int:
        return self.options.num_virtual_tokens

    def objective(self, objective):
        return VirtualTokens(objective)


class Prefix(VirtualTokenMethod):
    name = "prefix"

    def peft_config(self, model):
        from peft import PrefixTuningConfig, TaskType

        n = self.options.num_virtual_tokens
        return PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=n)


class Prompt(VirtualTokenMethod):
    name = "prompt"

    def peft_config(self, model):
        from peft import PromptTuningConfig, TaskType

        n = self.options.num_virtual_tokens
        return PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=n)


class PTuning(VirtualTokenMethod):
    """Virtual token embeddings produced by a small MLP encoder (P-tuning)."""

    name = "ptuning"

    def peft_config(self, model):
        from peft import PromptEncoderConfig, TaskType

        return PromptEncoderConfig(
            task_type=TaskType.CAUSAL_LM,
            num_virtual_tokens=self.options.num_virtual_tokens,
            encoder_hidden_size=model.config.hidden_size,
        )


class LlamaAdapter(PeftMethod):
    """peft's adaption prompt: learned prompts attended by every layer through a zero-init
    gate. It is its own attention path beside the model's, so packed rows stay exact."""

    name = "llama-adapter"

    def peft_config(self, model):
        from peft import AdaptionPromptConfig, TaskType
        from peft.tuners.adaption_prompt.config import TRANSFORMERS_MODEL_CONFIG

        model_type = model.config.model_type
        if model_type not in TRANSFORMERS_MODEL_CONFIG:
            raise LmforgeError(
                f"--peft llama-adapter does not support {model_type!r} models.",
                f"peft implements it for: {', '.join(TRANSFORMERS_MODEL_CONFIG)}.",
            )
        return AdaptionPromptConfig(
            task_type=TaskType.CAUSAL_LM,
            adapter_len=self.options.num_virtual_tokens,
            adapter_layers=model.config.num_hidden_layers,
        )


class VirtualTokens:
    """Wraps an objective for methods that add virtual positions in front of each row.

    Rows hold one conversation from position 0, so the model's default positions are right;
    position ids are not passed (peft ignores them for prompt tuning and they would not
    count the prefix), and only the logits of the real tokens reach the loss.
    """

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def loss(self, model, batch):
        def forward(input_ids, position_ids=None, use_cache=False):
            logits = model(input_ids=input_ids, use_cache=use_cache).logits
            return SimpleNamespace(logits=logits[:, -input_ids.shape[1] :])

        return self.inner.loss(forward, batch)

    def weight(self, batch):
        return self.inner.weight(batch)
