"""Facts and the held-out split: pretraining has everything, SFT/prefs never the held-out."""

from __future__ import annotations

import re

from lab_helpers import raw_docs, read, world

from lmforge.lab.text import LANGS, N_QUESTIONS


def _value(w: dict, attr: str, key: str, lang: str) -> str:
    return w["values"][attr][key][lang]


def _statements(w: dict, entity: dict, attr: str, lang: str) -> set[str]:
    module = LANGS[lang]
    value = _value(w, attr, entity["attributes"][attr], lang)
    return {module.render(t, entity["name"][lang], value) for t in module.FACTS[attr]}


def _clean_docs(out) -> list[dict]:
    truth = {t["id"]: t["planted"] for t in read(out / "raw_truth.jsonl")}
    return [d for d in raw_docs(out) if truth[d["id"]] == "clean"]


def test_every_fact_is_stated_in_a_clean_doc_in_each_language(small_lab):
    w = world(small_lab)
    clean = _clean_docs(small_lab)
    for entity in w["entities"]:
        for lang in ("en", "ko"):
            about = [
                d["text"]
                for d in clean
                if d["meta"]["lang"] == lang and entity["name"][lang] in d["text"].split("\n")[0]
            ]
            assert about, (entity["id"], lang)
            for attr, key in entity["attributes"].items():
                value = _value(w, attr, key, lang)
                assert any(value in text for text in about), (entity["id"], attr, lang)
                sentences = _statements(w, entity, attr, lang)
                assert any(s in text for s in sentences for text in about)


def test_held_out_split_is_about_thirty_percent(small_lab):
    entities = world(small_lab)["entities"]
    assert all(1 <= len(e["held_out"]) <= 2 for e in entities)
    share = sum(len(e["held_out"]) for e in entities) / (5 * len(entities))
    assert 0.2 <= share <= 0.4


def _questions(out, name: str) -> list[tuple[str, dict]]:
    if name == "sft":
        records = read(out / "sft/train.jsonl")
        return [(r["messages"][0]["content"], r) for r in records]
    records = [r for r in read(out / "prefs/train.jsonl") if r["meta"]["kind"] == "fact"]
    return [(r["prompt"][0]["content"], r) for r in records]


def test_held_out_facts_never_reach_sft_or_prefs(small_lab):
    w = world(small_lab)
    held = {(e["id"], a) for e in w["entities"] for a in e["held_out"]}
    eval_questions = {r["question"] for r in read(small_lab / "eval/qa.jsonl")}
    for source in ("sft", "prefs"):
        for text, record in _questions(small_lab, source):
            assert (record["meta"]["entity"], record["meta"]["attribute"]) not in held
            assert text not in eval_questions


def test_sft_covers_every_trainable_fact_with_the_right_answer(small_lab):
    w = world(small_lab)
    by_id = {e["id"]: e for e in w["entities"]}
    records = read(small_lab / "sft/train.jsonl")
    trainable = sum(5 - len(e["held_out"]) for e in w["entities"])
    assert len(records) == trainable * 2 * N_QUESTIONS
    for r in records:
        entity = by_id[r["meta"]["entity"]]
        attr = r["meta"]["attribute"]
        expected = _value(w, attr, entity["attributes"][attr], r["lang"])
        assert r["messages"][1] == {"role": "assistant", "content": expected}
        assert entity["name"][r["lang"]] in r["messages"][0]["content"]


def test_prefs_reject_a_wrong_value_of_the_same_attribute(small_lab):
    w = world(small_lab)
    for r in read(small_lab / "prefs/train.jsonl"):
        assert r["chosen"] != r["rejected"]
        if r["meta"]["kind"] != "fact":
            assert int(r["chosen"]) != int(r["rejected"])
            continue
        attr = r["meta"]["attribute"]
        if attr == "founded":
            year = r["rejected"].removesuffix("년")
            assert 1000 <= int(year) <= 1899
        else:
            texts = {v[r["lang"]] for v in w["values"][attr].values()}
            assert r["rejected"] in texts


def test_eval_asks_exactly_the_held_out_facts(small_lab):
    w = world(small_lab)
    held = {(e["id"], a) for e in w["entities"] for a in e["held_out"]}
    by_id = {e["id"]: e for e in w["entities"]}
    qa = read(small_lab / "eval/qa.jsonl")
    assert {(r["meta"]["entity"], r["meta"]["attribute"]) for r in qa} == held
    assert len(qa) == len(held) * 2 * N_QUESTIONS
    for r in qa:
        entity, attr = by_id[r["meta"]["entity"]], r["meta"]["attribute"]
        assert r["answer"] == _value(w, attr, entity["attributes"][attr], r["lang"])
        assert r["answer"] in r["aliases"]
        expected_n = {"region": 5, "founded": 900}.get(attr, 8)
        assert r["meta"]["n_values"] == expected_n


def test_multiple_choice_has_one_right_answer_among_four(small_lab):
    qa = {r["question"]: r["answer"] for r in read(small_lab / "eval/qa.jsonl")}
    mc = read(small_lab / "eval/mc.jsonl")
    assert len(mc) == len(qa)
    labels = set()
    for r in mc:
        assert len(r["choices"]) == len(set(r["choices"])) == 4
        assert r["choices"][r["label"]] == qa[r["question"]]
        labels.add(r["label"])
        if r["meta"]["attribute"] == "founded":
            assert all(re.fullmatch(r"1[0-8]\d\d(년)?", c) for c in r["choices"])
    assert labels == {0, 1, 2, 3}  # the right answer is not always in one place


def test_rag_facts_appear_only_in_rag(small_lab):
    w = world(small_lab)
    region = w["rag_entities"][0]["attributes"]["region"]
    names = [w["values"]["region"][region][lang] for lang in ("en", "ko")]
    names += [e["name"][lang] for e in w["rag_entities"] for lang in ("en", "ko")]
    elsewhere = [small_lab / "raw_truth.jsonl", *sorted((small_lab / "raw").glob("*.jsonl"))]
    elsewhere += [small_lab / p for p in ("sft/train.jsonl", "prefs/train.jsonl")]
    elsewhere += [small_lab / p for p in ("eval/qa.jsonl", "eval/mc.jsonl")]
    for path in elsewhere:
        text = path.read_text(encoding="utf-8")
        for name in names:
            assert name not in text, (name, path)


def test_rag_docs_answer_their_questions(small_lab):
    docs = {p.stem: p.read_text(encoding="utf-8") for p in (small_lab / "rag/docs").glob("*.md")}
    assert len(docs) == 12
    assert all(text.startswith("# ") and text.count("\n\n") >= 3 for text in docs.values())
    qa = read(small_lab / "rag/qa.jsonl")
    assert len(qa) == 6 * 5 * 2
    for r in qa:
        (doc_id,) = r["doc_ids"]
        assert doc_id.endswith(f"-{r['lang']}")
        assert r["answer"] in docs[doc_id]
