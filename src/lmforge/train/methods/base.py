"""Full fine-tuning, head-only, and what every method shares: counting, target modules.

A method is a parameter-selection policy for the one shared loop: `fit_and_save` calls
`check()` before loading, `load()`, `prepare(model)` before the optimizer is built (the
optimizer only takes parameters that require grad), `objective(obj)` and, at the end,
`save(model, tokenizer, out)`. Nothing else about training changes.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model, save_model
from lmforge.train.methods.options import PeftOptions


class Method:
    """Full fine-tuning (`--peft none`): every parameter trains; a whole model is saved."""

    name = "none"
    kind: str | None = None  # artifact kind; None keeps the command's own ("sft")
    packs = True  # packed rows (no attention across conversations) stay exact
    virtual_tokens = 0  # positions the method puts in front of every row
    optimizer: str | None = None  # a TrainConfig.optimizer the method needs

    def __init__(self, options: PeftOptions | None = None):
        self.options = options or PeftOptions(method=self.name)

    def check(self) -> None:
        """Refuse what cannot work before any weights are loaded."""

    def load(self, model_dir: Path):
        return load_model(model_dir)

    def prepare(self, model: nn.Module) -> nn.Module:
        return model

    def objective(self, objective):
        return objective

    def save(self, model: nn.Module, tokenizer, out: Path) -> None:
        save_model(model, tokenizer, out)

    def counts(self, model: nn.Module) -> dict:
        return parameter_counts(model)


class HeadOnly(Method):
    """Only `lm_head` trains. A head tied to the input embeddings is untied first (a copy),
    so the embeddings stay as they were; the saved model has `tie_word_embeddings: false`."""

    name = "head-only"

    def prepare(self, model: nn.Module) -> nn.Module:
        head, embeddings = model.get_output_embeddings(), model.get_input_embeddings()
        if head is None:
            raise LmforgeError(f"{type(model).__name__} has no output head to train.")
        if head.weight is embeddings.weight:
            head.weight = nn.Parameter(embeddings.weight.detach().clone())
            model.config.tie_word_embeddings = False
            if hasattr(model.config, "get_text_config"):
                model.config.get_text_config().tie_word_embeddings = False
        for p in model.parameters():
            p.requires_grad_(False)
        head.weight.requires_grad_(True)
        return model


def parameter_counts(model: nn.Module) -> dict:
    """Trainable and total parameters (shared tensors counted once), as peft counts them."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_percent": round(100 * trainable / max(total, 1), 4),
    }


def linear_module_names(model: nn.Module) -> list[str]:
    """Last names of the linear layers a LoRA could adapt (the output head excluded)."""
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings()
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear | Conv1D) and module is not head
        }
    )


def check_targets(model: nn.Module, targets: list[str]) -> None:
    available = linear_module_names(model)
    missing = [t for t in targets if t not in available]
    if missing:
        raise LmforgeError(
            f"--target-modules names {', '.join(missing)}, which the model does not have.",
            f"Linear modules in this model: {', '.join(available)}.",
        )


def freeze_all(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)
