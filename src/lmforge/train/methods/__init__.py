"""Parameter-efficient fine-tuning: which parameters the shared loop trains, and how saved.

`build_method(options)` turns `PeftOptions` (or a method name) into a `Method` that
`train.run.fit_and_save` applies around the one loop; there is no second training loop.
See docs/finetuning.md. Tests: `pytest tests/train/test_peft*.py`.
"""

from __future__ import annotations

from lmforge.errors import LmforgeError
from lmforge.train.methods.base import HeadOnly, Method, parameter_counts
from lmforge.train.methods.bottleneck import BottleneckMethod, load_bottleneck
from lmforge.train.methods.options import PeftOptions
from lmforge.train.methods.peft_methods import (
    IA3,
    DoRA,
    LlamaAdapter,
    LoRA,
    Prefix,
    Prompt,
    PTuning,
)
from lmforge.train.methods.qlora import QLoRA

METHODS: dict[str, type[Method]] = {
    cls.name: cls
    for cls in (
        Method, LoRA, DoRA, IA3, Prefix, Prompt, PTuning, LlamaAdapter, BottleneckMethod,
        QLoRA, HeadOnly,
    )
}  # fmt: skip


def build_method(options: PeftOptions | str) -> Method:
    if isinstance(options, str):
        options = PeftOptions(method=options)
    if options.method not in METHODS:
        raise LmforgeError(
            f"unknown --peft method {options.method!r}.",
            f"Choose one of: {', '.join(METHODS)}.",
        )
    return METHODS[options.method](options)


__all__ = [
    "METHODS",
    "Method",
    "PeftOptions",
    "build_method",
    "load_bottleneck",
    "parameter_counts",
]
