"""Korean particles and the wording of generated text in both languages."""

from __future__ import annotations

import random
import re

import pytest
from lab_helpers import raw_docs, read, world

from lmforge.lab.names import SYLLABLES, fill_josa, final_consonant, josa, make_names

PAIRS = ("은/는", "이/가", "을/를", "와/과", "으로/로")


@pytest.mark.parametrize(
    ("word", "topic", "subject", "object_", "with_", "toward"),
    [
        ("카모리", "카모리는", "카모리가", "카모리를", "카모리와", "카모리로"),  # no batchim
        ("카모센", "카모센은", "카모센이", "카모센을", "카모센과", "카모센으로"),  # ㄴ
        ("벨모달", "벨모달은", "벨모달이", "벨모달을", "벨모달과", "벨모달로"),  # ㄹ takes 로
        ("곰", "곰은", "곰이", "곰을", "곰과", "곰으로"),
        ("1204년", "1204년은", "1204년이", "1204년을", "1204년과", "1204년으로"),
        ("1204", "1204는", "1204가", "1204를", "1204와", "1204로"),  # 사
        ("1207", "1207은", "1207이", "1207을", "1207과", "1207로"),  # 칠: ㄹ
        ("1210", "1210은", "1210이", "1210을", "1210과", "1210으로"),  # 십
        ("3000", "3000은", "3000이", "3000을", "3000과", "3000으로"),  # 천
    ],
)
def test_josa_follows_the_final_sound(word, topic, subject, object_, with_, toward):
    assert josa(word, "은/는") == topic
    assert josa(word, "이/가") == subject
    assert josa(word, "을/를") == object_
    assert josa(word, "와/과") == with_
    assert josa(word, "으로/로") == toward


def test_final_consonant():
    assert final_consonant("리") == 0
    assert final_consonant("센") == 4  # ㄴ
    assert final_consonant("달") == 8  # ㄹ
    assert final_consonant("Kamori") is None


def test_fill_josa_formats_every_slot():
    text = fill_josa("{name:은/는} {value:을/를} 수출한다. {value}", name="카모센", value="구리")
    assert text == "카모센은 구리를 수출한다. 구리"


def test_names_are_unique_and_never_inside_each_other():
    taken: set[str] = set()
    names = make_names(random.Random(5), 300, taken)
    forms = [n for pair in names for n in (pair[0].lower(), pair[1])]
    assert len(set(forms)) == len(forms)
    for i, a in enumerate(forms):
        assert not any(a in b for j, b in enumerate(forms) if i != j)
    romanized = {ko: en for en, ko in SYLLABLES}
    for en, ko in names:
        assert en.lower() == "".join(romanized[ch] for ch in ko)


def test_generated_korean_uses_the_right_particles(small_lab):
    w = world(small_lab)
    nouns = {e["name"]["ko"] for e in w["entities"]}
    nouns |= {v["ko"] for table in w["values"].values() for v in table.values()}
    texts = [d["text"] for d in raw_docs(small_lab) if d["meta"]["lang"] == "ko"]
    texts += [r["messages"][0]["content"] for r in read(small_lab / "sft/train.jsonl")]
    alternation = "|".join(sorted(map(re.escape, nouns), key=len, reverse=True))
    pattern = re.compile(rf"({alternation})(은|는|이|가|을|를|과|와|으로|로)(?=[ ?.])")
    seen = set()
    for text in texts:
        for noun, particle in pattern.findall(text):
            pair = next(p for p in PAIRS if particle in p.split("/"))
            assert josa(noun, pair) == noun + particle, text
            seen.add((bool(final_consonant(noun)), particle))
    # both forms of the common particles were exercised
    for pair in PAIRS[:3]:
        after_consonant, after_vowel = pair.split("/")
        assert {(True, after_consonant), (False, after_vowel)} <= seen


def test_no_template_slot_is_left_unfilled(small_lab):
    for name in ("sft/train.jsonl", "eval/qa.jsonl", "eval/mc.jsonl", "prefs/train.jsonl"):
        text = (small_lab / name).read_text(encoding="utf-8")
        assert "{name" not in text and "{value" not in text and "은/는" not in text
    for doc in raw_docs(small_lab):
        assert "{" not in doc["text"]


def test_english_articles(small_lab):
    text = " ".join(d["text"] for d in raw_docs(small_lab) if d["meta"]["lang"] == "en")
    assert not re.search(r"\ba (owl|otter|orange)\b", text)
    assert not re.search(r"\ban (heron|fox|wolf|deer|crane|bear|red|blue)\b", text)
