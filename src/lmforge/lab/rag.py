"""The retrieval corpus: towns of a newly charted region, known only from rag/docs.

Their facts appear nowhere else (not in the crawl, SFT, preferences or eval), so a model can
answer rag/qa.jsonl only by reading the retrieved document.
"""

from __future__ import annotations

import random
from typing import Any

from lmforge.lab.rng import rng_for
from lmforge.lab.text import LANGS, N_QUESTIONS, filler, question, statement
from lmforge.lab.world import ATTRIBUTES, Entity, World


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
