"""Language dispatch and the sentences every stage shares: statements and questions."""

from __future__ import annotations

import random
from types import ModuleType

from lmforge.lab import text_en, text_ko
from lmforge.lab.world import Entity, World

LANGS: dict[str, ModuleType] = {"en": text_en, "ko": text_ko}
N_QUESTIONS = 3  # question templates per attribute per language


def statement(rng: random.Random, world: World, entity: Entity, attr: str, lang: str) -> str:
    """One sentence stating the entity's value of `attr`, in a randomly chosen wording."""
    module = LANGS[lang]
    template = rng.choice(module.FACTS[attr])
    value = world.value(attr, entity.attributes[attr], lang)
    return module.render(template, entity.name[lang], value)


def question(entity: Entity, attr: str, lang: str, index: int) -> str:
    """Question template number `index` about the entity's `attr`."""
    module = LANGS[lang]
    return module.render(module.QUESTIONS[attr][index], entity.name[lang])


def filler(rng: random.Random, entity: Entity, lang: str) -> str:
    module = LANGS[lang]
    return module.render(rng.choice(module.FILLERS), entity.name[lang])


def title(rng: random.Random, entity: Entity, lang: str) -> str:
    module = LANGS[lang]
    return module.render(rng.choice(module.TITLES), entity.name[lang])
