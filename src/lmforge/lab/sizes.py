"""The size table: how big each lab world is. Tune the numbers here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.errors import LmforgeError


@dataclass(frozen=True)
class LabSize:
    """How much of everything one size of lab world holds."""

    entities: int  # towns whose facts are in the pretraining text
    paragraphs: int  # paraphrased encyclopedia paragraphs per entity per language
    arith_train: int  # arithmetic problems for training (all languages together)
    arith_test: int  # arithmetic problems held out for evaluation
    arith_prefs: int  # arithmetic preference pairs
    tool_sft: int  # 4-digit problems answered with an inline calculator call (SFT)
    reading_sft: int  # passage + question chats about made-up towns (SFT for RAG)
    noise_fraction: float  # share of raw documents that carry planted noise
    rag_entities: int  # towns of the "new region", known only from rag/docs


SIZES: dict[str, LabSize] = {
    "tiny": LabSize(
        entities=8,
        paragraphs=2,
        arith_train=40,
        arith_test=20,
        arith_prefs=10,
        tool_sft=10,
        reading_sft=20,
        noise_fraction=0.3,
        rag_entities=3,
    ),
    "small": LabSize(
        entities=32,
        paragraphs=16,
        arith_train=2000,
        arith_test=200,
        arith_prefs=200,
        tool_sft=2000,
        reading_sft=2000,
        noise_fraction=0.25,
        rag_entities=6,
    ),
    "medium": LabSize(
        entities=200,
        paragraphs=8,
        arith_train=8000,
        arith_test=500,
        arith_prefs=800,
        tool_sft=4000,
        reading_sft=4000,
        noise_fraction=0.25,
        rag_entities=6,
    ),
}


def size_for(name: str) -> LabSize:
    """The `LabSize` called `name`; an unknown name is the user's error."""
    try:
        return SIZES[name]
    except KeyError:
        raise LmforgeError(
            f"Unknown lab size {name!r}.", f"Choose one of: {', '.join(SIZES)}."
        ) from None
