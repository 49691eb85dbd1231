"""Question-answer data about the towns: SFT chats, preference pairs and the held-out eval.

SFT and preference data use only facts that are NOT held out; the eval (short answer and
multiple choice) asks only about held-out facts, with the same question templates, so a model
can only answer them from what pretraining taught it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from lmforge.lab.rng import rng_for
from lmforge.lab.text import N_QUESTIONS, question
from lmforge.lab.world import ATTRIBUTES, YEARS, Entity, World

N_CHOICES = 4
YEAR_SPREAD = 150  # year distractors lie within this many years of the answer


def _facts(
    world: World, langs: tuple[str, ...], held_out: bool
) -> Iterator[tuple[Entity, str, str, int]]:
    """(entity, attribute, lang, template index) for the held-out or the trainable facts."""
    for entity in world.entities:
        for attr in ATTRIBUTES:
            if (attr in entity.held_out) != held_out:
                continue
            for lang in langs:
                for q in range(N_QUESTIONS):
                    yield entity, attr, lang, q


def _record_rng(
    seed: int, purpose: str, entity: Entity, attr: str, lang: str, q: int
) -> random.Random:
    """A stream per record, so one language's data does not depend on the others generated."""
    return rng_for(seed, f"{purpose}:{entity.id}:{attr}:{lang}:{q}")


def _meta(entity: Entity, attr: str, **extra: Any) -> dict[str, Any]:
    return {"entity": entity.id, "attribute": attr, **extra}


def sft_records(world: World, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """One chat per trainable fact, language and question template; the answer is the value."""
    out = []
    for n, (entity, attr, lang, q) in enumerate(_facts(world, langs, held_out=False)):
        answer = world.value(attr, entity.attributes[attr], lang)
        messages = [
            {"role": "user", "content": question(entity, attr, lang, q)},
            {"role": "assistant", "content": answer},
        ]
        meta = _meta(entity, attr, kind="fact_qa")
        out.append({"id": f"sft-{n:06d}", "lang": lang, "messages": messages, "meta": meta})
    return out


def wrong_value(rng: random.Random, world: World, attr: str, key: str) -> str:
    """A different value key of the same attribute (years: a nearby other year)."""
    if attr == "founded":
        return str(_other_years(rng, int(key), 1)[0])
    return rng.choice([k for k in world.value_keys(attr) if k != key])


def pref_records(seed: int, world: World, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Fact preference pairs: chosen = the true value, rejected = a wrong one."""
    out = []
    for n, (entity, attr, lang, q) in enumerate(_facts(world, langs, held_out=False)):
        key = entity.attributes[attr]
        wrong = wrong_value(_record_rng(seed, "prefs", entity, attr, lang, q), world, attr, key)
        out.append(
            {
                "id": f"pref-{n:06d}",
                "lang": lang,
                "prompt": [{"role": "user", "content": question(entity, attr, lang, q)}],
                "chosen": world.value(attr, key, lang),
                "rejected": _value_text(world, attr, wrong, lang),
                "meta": _meta(entity, attr, kind="fact"),
            }
        )
    return out


def _value_text(world: World, attr: str, key: str, lang: str) -> str:
    """Text of a value that may not be anyone's (years outside the world's value table)."""
    if attr == "founded":
        return key if lang == "en" else f"{key}년"
    return world.value(attr, key, lang)


def eval_qa_records(world: World, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Short-answer questions about held-out facts."""
    out = []
    for n, (entity, attr, lang, q) in enumerate(_facts(world, langs, held_out=True)):
        key = entity.attributes[attr]
        out.append(
            {
                "id": f"qa-{n:06d}",
                "lang": lang,
                "question": question(entity, attr, lang, q),
                "answer": world.value(attr, key, lang),
                "aliases": world.aliases(attr, key, lang),
                "meta": _meta(entity, attr, n_values=world.n_values(attr)),
            }
        )
    return out


def eval_mc_records(seed: int, world: World, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Four-way multiple choice about held-out facts; distractors from the same value set."""
    out = []
    for n, (entity, attr, lang, q) in enumerate(_facts(world, langs, held_out=True)):
        rng = _record_rng(seed, "mc", entity, attr, lang, q)
        key = entity.attributes[attr]
        keys = [key, *_distractors(rng, world, attr, key)]
        rng.shuffle(keys)
        out.append(
            {
                "id": f"mc-{n:06d}",
                "lang": lang,
                "question": question(entity, attr, lang, q),
                "choices": [_value_text(world, attr, k, lang) for k in keys],
                "label": keys.index(key),
                "meta": _meta(entity, attr, n_choices=N_CHOICES),
            }
        )
    return out


def _distractors(rng: random.Random, world: World, attr: str, key: str) -> list[str]:
    if attr == "founded":
        return [str(y) for y in _other_years(rng, int(key), N_CHOICES - 1)]
    return rng.sample([k for k in world.value_keys(attr) if k != key], N_CHOICES - 1)


def _other_years(rng: random.Random, year: int, n: int) -> list[int]:
    """`n` distinct plausible years near `year`, inside the world's year range."""
    low = max(YEARS.start, year - YEAR_SPREAD)
    high = min(YEARS.stop - 1, year + YEAR_SPREAD)
    return rng.sample([y for y in range(low, high + 1) if y != year], n)
