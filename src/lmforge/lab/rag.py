"""The retrieval corpus: towns of a newly charted region, known only from rag/docs.

Their facts appear nowhere else (not in the crawl, SFT, preferences or eval), so a model can
answer rag/qa.jsonl only by reading the retrieved document. sft/reading.jsonl teaches that
reading on made-up practice towns: a passage cut from an article like those of rag/docs,
then a question it answers.
"""

from __future__ import annotations

import random
from typing import Any

from lmforge.lab.names import make_names
from lmforge.lab.rng import rng_for
from lmforge.lab.text import LANGS, N_QUESTIONS, filler, question, statement
from lmforge.lab.world import ATTRIBUTES, FIXED_VALUES, YEARS, Entity, World

# Which section of a rag_doc article states each attribute (0 is the title and intro).
_SECTION = {"region": 0, "export": 1, "animal": 2, "colour": 2, "founded": 3}


def doc_id(world: World, entity: Entity, lang: str) -> str:
    return f"{world.new_region}-{entity.id}-{lang}"


def rag_doc(seed: int, world: World, entity: Entity, lang: str) -> str:
    """A markdown article: "# Name", an intro, then a section each on trade, symbols, history."""
    rng = rng_for(seed, f"rag:{entity.id}:{lang}")
    module = LANGS[lang]
    name = entity.name[lang]
    region = world.value("region", entity.attributes["region"], lang)
    intro = [module.render(module.RAG_INTRO, name, region=region), filler(rng, entity, lang)]
    sections = {
        "export": [statement(rng, world, entity, "export", lang)],
        "symbols": [statement(rng, world, entity, a, lang) for a in ("animal", "colour")],
        "founded": [statement(rng, world, entity, "founded", lang)],
    }
    parts = [f"# {name}", " ".join(intro)]
    for key, sentences in sections.items():
        parts += [f"## {module.RAG_HEADINGS[key]}", " ".join(sentences)]
    return "\n\n".join(parts) + "\n"


def rag_docs(seed: int, world: World, langs: tuple[str, ...]) -> dict[str, str]:
    """Document id -> markdown, for every RAG town and language."""
    return {
        doc_id(world, e, lang): rag_doc(seed, world, e, lang)
        for e in world.rag_entities
        for lang in langs
    }


def rag_qa(seed: int, world: World, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """One question per RAG fact and language, pointing at the document that answers it."""
    rng: random.Random = rng_for(seed, "rag_qa")
    out = []
    for entity in world.rag_entities:
        for attr in ATTRIBUTES:
            for lang in langs:
                out.append(
                    {
                        "id": f"rag-{len(out):06d}",
                        "lang": lang,
                        "question": question(entity, attr, lang, rng.randrange(N_QUESTIONS)),
                        "answer": world.value(attr, entity.attributes[attr], lang),
                        "doc_ids": [doc_id(world, entity, lang)],
                    }
                )
    return out


def sft_reading_records(
    seed: int, world: World, langs: tuple[str, ...], n: int
) -> list[dict[str, Any]]:
    """`n` reading chats: the user turn is a passage about a practice town, a blank line and a
    question the passage answers; the reply is the value, as in sft/train.jsonl.

    The passage is the article section that states the fact, half the time with the next or
    previous section too (as a retrieved chunk often is), so the model learns to find the
    sentence that answers. Practice towns and their regions are new names, none of them in
    the world (new region included), and their facts are random: reading is the only way.
    """
    per_town = len(ATTRIBUTES) * len(langs)
    practice = _practice_world(seed, world, -(-n // per_town))
    rng = rng_for(seed, "reading")
    out: list[dict[str, Any]] = []
    for entity in practice.rag_entities:
        for lang in langs:
            sections = rag_doc(seed, practice, entity, lang).strip().split("\n\n## ")
            sections[1:] = [f"## {part}" for part in sections[1:]]
            for attr in ATTRIBUTES:
                passage = _passage(rng, sections, _SECTION[attr])
                ask = question(entity, attr, lang, rng.randrange(N_QUESTIONS))
                messages = [
                    {"role": "user", "content": f"{passage}\n\n{ask}"},
                    {
                        "role": "assistant",
                        "content": practice.value(attr, entity.attributes[attr], lang),
                    },
                ]
                meta = {"kind": "reading", "entity": entity.id, "attribute": attr}
                out.append({"id": f"sft-read-{len(out):06d}", "lang": lang, "messages": messages,
                            "meta": meta})  # fmt: skip
    return out[:n]


def _passage(rng: random.Random, sections: list[str], k: int) -> str:
    if rng.random() < 0.5:
        return sections[k]
    other = k + 1 if k + 1 < len(sections) and (k == 0 or rng.random() < 0.5) else k - 1
    first, second = sorted((k, other))
    return f"{sections[first]}\n\n{sections[second]}"


def _practice_world(seed: int, world: World, n_towns: int) -> World:
    """Made-up towns, each in its own made-up region, with random values (the world's sets)."""
    rng = rng_for(seed, "reading_world")
    taken = {form.lower() for e in world.entities + world.rag_entities for form in e.name.values()}
    taken |= {text.lower() for table in world.values["region"].values() for text in table.values()}
    regions = make_names(rng, n_towns, taken)
    towns = make_names(rng, n_towns, taken)
    values = {attr: world.values[attr] for attr in FIXED_VALUES}
    values["region"] = {en.lower(): {"en": en, "ko": ko} for en, ko in regions}
    entities = []
    for (en, ko), (region, _) in zip(towns, regions, strict=True):
        attrs = {"region": region.lower(), "founded": str(rng.choice(YEARS))}
        attrs |= {attr: rng.choice(sorted(table)) for attr, table in FIXED_VALUES.items()}
        entities.append(Entity(id=f"practice-{en.lower()}", name={"en": en, "ko": ko},
                               attributes=attrs))  # fmt: skip
    years = {e.attributes["founded"] for e in entities}
    values["founded"] = {y: {"en": y, "ko": f"{y}년"} for y in sorted(years)}
    return World([], entities, values, world.new_region)
