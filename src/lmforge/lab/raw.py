"""The raw crawl: clean encyclopedia paragraphs plus planted noise, shuffled, with the truth.

Noise comes in two forms. Added documents (exact and near duplicates of clean ones, junk pages,
boilerplate-only pages) and clean documents changed in place (site boilerplate wrapped around
them, personal data inserted). In-place changes never touch paraphrase 0 of a town, so every
fact keeps at least one clean document per language. Labels go to raw_truth, not to meta.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lmforge.lab import noise
from lmforge.lab.encyclopedia import clean_docs
from lmforge.lab.pii import insert_pii
from lmforge.lab.rng import rng_for
from lmforge.lab.sizes import LabSize
from lmforge.lab.world import World

# Share of each kind of noise among all noisy documents.
MIX: dict[str, float] = {
    "exact_dup": 0.2,
    "near_dup": 0.2,
    "junk": 0.2,
    "boilerplate_page": 0.08,
    "boilerplate_added": 0.12,
    "pii": 0.2,
}
_IN_PLACE = ("boilerplate_added", "pii")
_SITES = ("atlas.example.org", "towns.example.net", "wiki.example.com", "travel.example.kr")


@dataclass
class RawDoc:
    """A raw document before shuffling; `of` is the index of the document it copies."""

    text: str
    lang: str
    planted: str = "clean"
    of: int | None = None
    pii_kinds: list[str] = field(default_factory=list)


def noise_counts(n_base: int, fraction: float, n_eligible: int) -> dict[str, int]:
    """How many documents of each noise kind, so noise is about `fraction` of the total.

    Added documents grow the total, in-place ones do not: solve noise = f * (base + added).
    """
    added = sum(v for k, v in MIX.items() if k not in _IN_PLACE)
    total = fraction * n_base / (1 - fraction * added)
    counts = {kind: max(1, round(share * total)) for kind, share in MIX.items()}
    in_place = counts["boilerplate_added"] + counts["pii"]
    if in_place > n_eligible:  # tiny worlds: fewer documents to change than asked
        counts["pii"] = max(0, min(counts["pii"], n_eligible - 1))
        counts["boilerplate_added"] = n_eligible - counts["pii"]
    return counts


def build_raw(
    seed: int, world: World, langs: tuple[str, ...], size: LabSize
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The raw records and their raw_truth records, in the same (shuffled) order."""
    rng = rng_for(seed, "raw")
    clean = clean_docs(seed, world, langs, size.paragraphs)
    docs = [RawDoc(d.text, d.lang) for d in clean]
    eligible = [i for i, d in enumerate(clean) if d.index > 0]
    counts = noise_counts(len(docs), size.noise_fraction, len(eligible))
    _change_in_place(rng, docs, eligible, counts)
    sources = [i for i, d in enumerate(docs) if d.planted == "clean"]
    docs += _added(rng, docs, sources, counts, langs)
    order = _shuffle(rng, docs)
    return _records(rng, docs, order)


def _change_in_place(
    rng: random.Random, docs: list[RawDoc], eligible: list[int], counts: dict[str, int]
) -> None:
    chosen = rng.sample(eligible, counts["boilerplate_added"] + counts["pii"])
    for i in chosen[: counts["pii"]]:
        docs[i].text, docs[i].pii_kinds = insert_pii(rng, docs[i].text, docs[i].lang)
        docs[i].planted = "pii"
    for i in chosen[counts["pii"] :]:
        docs[i].text = noise.add_boilerplate(rng, docs[i].text, docs[i].lang)
        docs[i].planted = "boilerplate"


def _added(
    rng: random.Random,
    docs: list[RawDoc],
    sources: list[int],
    counts: dict[str, int],
    langs: tuple[str, ...],
) -> list[RawDoc]:
    out = []
    for _ in range(counts["exact_dup"]):
        src = rng.choice(sources)
        out.append(RawDoc(docs[src].text, docs[src].lang, "exact_dup", src))
    for _ in range(counts["near_dup"]):
        src = rng.choice(sources)
        text = noise.near_duplicate(rng, docs[src].text, docs[src].lang)
        out.append(RawDoc(text, docs[src].lang, "near_dup", src))
    for k in range(counts["junk"]):
        lang = langs[k % len(langs)]
        kinds = [j for j in noise.JUNK_KINDS if lang == "en" or j != "lorem"]
        out.append(RawDoc(noise.junk(rng, lang, kinds[k % len(kinds)]), lang, "junk"))
    for k in range(counts["boilerplate_page"]):
        lang = langs[k % len(langs)]
        out.append(RawDoc(noise.boilerplate_page(rng, lang), lang, "boilerplate"))
    return out


def _shuffle(rng: random.Random, docs: list[RawDoc]) -> list[int]:
    """A shuffled order in which every original still comes before its copies.

    A crawl meets the original first; keeping that order means "keep the first copy" is the
    right deduplication answer.
    """
    order = list(range(len(docs)))
    rng.shuffle(order)
    position = {doc: pos for pos, doc in enumerate(order)}
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(docs):
        if d.of is not None:
            groups.setdefault(d.of, [d.of]).append(i)
    for members in groups.values():
        slots = sorted(position[m] for m in members)
        for slot, member in zip(slots, members, strict=True):
            order[slot] = member
    return order


def _records(
    rng: random.Random, docs: list[RawDoc], order: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ids = {doc: f"web-{pos:06d}" for pos, doc in enumerate(order)}
    raw, truth = [], []
    for i in order:
        d = docs[i]
        url = f"https://{rng.choice(_SITES)}/{d.lang}/p/{rng.randrange(10**7):07d}"
        raw.append({"id": ids[i], "text": d.text, "meta": {"lang": d.lang, "url": url}})
        of = None if d.of is None else ids[d.of]
        truth.append({"id": ids[i], "planted": d.planted, "of": of, "pii_kinds": d.pii_kinds})
    return raw, truth
