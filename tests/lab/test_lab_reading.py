"""Reading practice for RAG (sft/reading.jsonl): answerable from the passage, and only from it."""

from __future__ import annotations

from collections import Counter

from lab_helpers import has_hangul, read, world

from lmforge.lab.world import ATTRIBUTES


def _world_names(lab) -> set[str]:
    w = world(lab)
    names = {n for e in w["entities"] + w["rag_entities"] for n in e["name"].values()}
    return names | {text for table in w["values"]["region"].values() for text in table.values()}


def test_every_reading_chat_is_answered_by_its_passage(small_lab):
    records = read(small_lab / "sft/reading.jsonl")
    assert len(records) == 2000
    assert Counter(r["meta"]["attribute"] for r in records) == dict.fromkeys(ATTRIBUTES, 400)
    assert Counter(r["lang"] for r in records) == {"en": 1000, "ko": 1000}
    for r in records:
        user, reply = (m["content"] for m in r["messages"])
        passage, question = user.rsplit("\n\n", 1)
        assert reply in passage and reply not in question, r["id"]
        assert has_hangul(user) == (r["lang"] == "ko")
        assert passage.startswith(("# ", "## ")) and passage.count("## ") <= 2


def test_practice_towns_and_regions_are_not_the_worlds(small_lab):
    taken = _world_names(small_lab)
    records = read(small_lab / "sft/reading.jsonl")
    regions = {r["messages"][1]["content"] for r in records if r["meta"]["attribute"] == "region"}
    assert len(regions) >= 150  # a new region per town: copying, not recalling, answers them
    for r in records:
        user = r["messages"][0]["content"]
        assert not any(name in user for name in taken), r["id"]
    new_region_docs = "".join(p.read_text() for p in (small_lab / "rag/docs").glob("*.md"))
    towns = {r["meta"]["entity"].removeprefix("practice-") for r in records}
    assert not any(town.capitalize() in new_region_docs for town in towns)
