"""The clean part of the raw crawl: encyclopedia paragraphs about every town.

For each town and language there are P paraphrases. Each is a title line and then one
sentence per attribute (held-out ones too: pretraining is where the model must learn them) in
a shuffled order with a randomly chosen wording, sometimes with a neutral filler sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.lab.rng import rng_for
from lmforge.lab.text import filler, statement, title
from lmforge.lab.world import ATTRIBUTES, Entity, World

FILLER_CHANCE = 0.5


@dataclass(frozen=True)
class CleanDoc:
    """A paraphrase: which town, language and paraphrase number it is, and its text."""

    entity: str
    lang: str
    index: int
    text: str


def paragraph(seed: int, world: World, entity: Entity, lang: str, index: int) -> str:
    """Paraphrase number `index` of the town's article in `lang` (title line, then text)."""
    rng = rng_for(seed, f"paragraph:{entity.id}:{lang}:{index}")
    order = list(ATTRIBUTES)
    rng.shuffle(order)
    sentences = [statement(rng, world, entity, attr, lang) for attr in order]
    if rng.random() < FILLER_CHANCE:
        sentences.insert(rng.randrange(1, len(sentences) + 1), filler(rng, entity, lang))
    return title(rng, entity, lang) + "\n" + " ".join(sentences)


def clean_docs(seed: int, world: World, langs: tuple[str, ...], per: int) -> list[CleanDoc]:
    """All paraphrases, town by town, language by language, in a stable order."""
    return [
        CleanDoc(e.id, lang, i, paragraph(seed, world, e, lang, i))
        for e in world.entities
        for lang in langs
        for i in range(per)
    ]
