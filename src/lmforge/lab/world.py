"""The world itself: regions, towns, their attributes, and which facts are held out.

A fact is (entity, attribute, value). Every fact is written into the pretraining text; for each
town about 30% of its attributes (one or two) are held out of SFT and preference data, and the
evaluation asks exactly about those. The split is made once and shared by all languages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lmforge.lab.names import make_names
from lmforge.lab.rng import rng_for

ATTRIBUTES: tuple[str, ...] = ("region", "export", "animal", "colour", "founded")
N_REGIONS = 5
YEARS = range(1000, 1900)  # founding years; also the "value set" size for chance rates

# Fixed value sets: key -> (English, Korean).
FIXED_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "export": {
        "copper": ("copper", "구리"), "salt": ("salt", "소금"), "wool": ("wool", "양모"),
        "tea": ("tea", "차"), "glass": ("glass", "유리"), "silk": ("silk", "비단"),
        "timber": ("timber", "목재"), "honey": ("honey", "꿀"),
    },
    "animal": {
        "heron": ("heron", "왜가리"), "fox": ("fox", "여우"), "owl": ("owl", "부엉이"),
        "wolf": ("wolf", "늑대"), "deer": ("deer", "사슴"), "crane": ("crane", "학"),
        "bear": ("bear", "곰"), "otter": ("otter", "수달"),
    },
    "colour": {
        "red": ("red", "빨간색"), "blue": ("blue", "파란색"), "green": ("green", "초록색"),
        "yellow": ("yellow", "노란색"), "white": ("white", "흰색"), "black": ("black", "검은색"),
        "purple": ("purple", "보라색"), "orange": ("orange", "주황색"),
    },
}  # fmt: skip

# Other ways of writing a value that an answer checker should accept (beyond the value itself).
KO_ALIASES: dict[str, list[str]] = {
    "crane": ["두루미"], "red": ["빨강"], "blue": ["파랑"], "green": ["초록"],
    "yellow": ["노랑"], "white": ["하양"], "black": ["검정"], "purple": ["보라"],
    "orange": ["주황"],
}  # fmt: skip


@dataclass(frozen=True)
class Entity:
    """A town: id (lowercase English name), names per language, attribute -> value key."""

    id: str
    name: dict[str, str]
    attributes: dict[str, str]
    held_out: tuple[str, ...] = ()

    def to_json(self, langs: tuple[str, ...]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": {lang: self.name[lang] for lang in langs},
            "attributes": dict(self.attributes),
            "held_out": list(self.held_out),
        }


@dataclass
class World:
    """Towns, the RAG-only towns of the new region, and the text of every value."""

    entities: list[Entity]
    rag_entities: list[Entity]
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    new_region: str = ""

    def value(self, attr: str, key: str, lang: str) -> str:
        """The text of a value in a language (KO years carry 년: "1204년")."""
        return self.values[attr][key][lang]

    def value_keys(self, attr: str) -> list[str]:
        """The value set of an attribute as seen by the main world (no new region)."""
        if attr == "founded":
            return [str(y) for y in YEARS]
        return sorted(k for k in self.values[attr] if k != self.new_region)

    def n_values(self, attr: str) -> int:
        return len(YEARS) if attr == "founded" else len(self.value_keys(attr))

    def aliases(self, attr: str, key: str, lang: str) -> list[str]:
        """Accepted answers, the canonical one first."""
        main = self.value(attr, key, lang)
        if attr == "region":
            return [main, f"{main} region" if lang == "en" else f"{main} 지방"]
        if lang == "en":
            return [main]
        if attr == "founded":
            return [main, key]  # "1204년" or plain "1204"
        return [main, *KO_ALIASES.get(key, [])]

    def to_json(self, langs: tuple[str, ...]) -> dict[str, Any]:
        """world.json, with names and values in the generated languages only."""
        values = {
            attr: {key: {lang: text[lang] for lang in langs} for key, text in table.items()}
            for attr, table in self.values.items()
        }
        return {
            "entities": [e.to_json(langs) for e in self.entities],
            "values": values,
            "rag_entities": [e.to_json(langs) for e in self.rag_entities],
        }


def build_world(seed: int, n_entities: int, n_rag: int) -> World:
    """The world for a seed: regions, towns, their attributes and the held-out split."""
    rng = rng_for(seed, "names")
    taken: set[str] = set()
    regions = make_names(rng, N_REGIONS + 1, taken)
    towns = make_names(rng, n_entities, taken)
    rag_towns = make_names(rng, n_rag, taken)
    values: dict[str, dict[str, dict[str, str]]] = {
        "region": {en.lower(): {"en": en, "ko": ko} for en, ko in regions},
    }
    for attr, table in FIXED_VALUES.items():
        values[attr] = {k: {"en": en, "ko": ko} for k, (en, ko) in table.items()}
    region_keys = [en.lower() for en, _ in regions[:N_REGIONS]]
    new_region = regions[N_REGIONS][0].lower()
    attrs = _assign(seed, "attributes", n_entities, region_keys)
    rag_attrs = _assign(seed, "rag_attributes", n_rag, [new_region])
    split = _held_out(seed, n_entities)
    entities = [_entity(name, attrs[i], split[i]) for i, name in enumerate(towns)]
    rag_entities = [_entity(name, rag_attrs[i], ()) for i, name in enumerate(rag_towns)]
    years = sorted({e.attributes["founded"] for e in entities + rag_entities})
    values["founded"] = {y: {"en": y, "ko": f"{y}년"} for y in years}
    return World(entities, rag_entities, values, new_region)


def _entity(name: tuple[str, str], attrs: dict[str, str], held: tuple[str, ...]) -> Entity:
    return Entity(
        id=name[0].lower(), name={"en": name[0], "ko": name[1]}, attributes=attrs, held_out=held
    )


def _assign(seed: int, purpose: str, n: int, regions: list[str]) -> list[dict[str, str]]:
    """Attribute values for `n` towns, balanced so every value is about equally common.

    Balance keeps the majority answer near chance, so an eval score above chance means the
    model learned something.
    """
    rng = rng_for(seed, purpose)
    columns = {"region": _balanced(rng, regions, n)}
    for attr, table in FIXED_VALUES.items():
        columns[attr] = _balanced(rng, sorted(table), n)
    columns["founded"] = [str(rng.choice(YEARS)) for _ in range(n)]
    return [{attr: columns[attr][i] for attr in ATTRIBUTES} for i in range(n)]


def _balanced(rng: random.Random, keys: list[str], n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        block = list(keys)
        rng.shuffle(block)
        out.extend(block)
    return out[:n]


def _held_out(seed: int, n: int) -> list[tuple[str, ...]]:
    """Per town, one or two attributes (about 30% of five) kept out of SFT and preferences."""
    rng = rng_for(seed, "split")
    split = []
    for _ in range(n):
        k = 1 if rng.random() < 0.5 else 2
        chosen = rng.sample(ATTRIBUTES, k)
        split.append(tuple(a for a in ATTRIBUTES if a in chosen))
    return split
