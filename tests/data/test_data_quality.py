"""Gopher, C4, FineWeb and Korean quality filters: rules that fire, and clean lab text kept."""

from __future__ import annotations

import pytest

from lmforge.data.document import Document
from lmforge.data.quality import GopherQualityFilter, GopherRepetitionFilter, KoreanQualityFilter
from lmforge.data.quality_stats import (
    chat_noise_ratio,
    duplicated_ngram_char_fraction,
    korean_stop_word_count,
    words,
)
from lmforge.data.quality_web import C4QualityFilter, FineWebQualityFilter
from lmforge.data.recipe import load_recipe

PROSE = (
    "The Orlen River rises in the northern hills and flows south for about 240 kilometres. "
    "It reaches the sea near the port of Tessa, where a fishing fleet still works the estuary. "
    "The old customs house has become a museum of the river trade. "
    "Visitors can walk along the embankment to the lighthouse. "
    "In spring the river floods the meadows with fresh water and silt. "
    "Farmers have used that silt for centuries to grow barley and rye."
)
KO = (
    "오를렌강은 북쪽 산지에서 발원하여 남쪽으로 약 240킬로미터를 흐른다. 테사 항구 근처에서 "
    "바다로 흘러든다. 옛 세관 건물은 강 무역 박물관이 되었다. 방문객은 제방을 따라 등대까지 "
    "걸을 수 있다. 봄에는 강이 초원에 물과 흙을 실어 나른다."
)


def judge(step, text: str, lang: str | None = None):
    return step.apply(Document("d", text, {"lang": lang} if lang else {}))


def test_gopher_quality_defaults_and_reasons():
    step = GopherQualityFilter()
    assert judge(step, PROSE) is None
    short = judge(step, "A short page with nine words and no more.")
    assert (short.rule, short.value, short.threshold) == ("gopher_min_words", 9, 50)
    hashes = judge(step, PROSE + " #tag" * 30)
    assert hashes.rule == "gopher_symbol_word_ratio" and hashes.threshold == 0.1
    no_stops = judge(GopherQualityFilter(min_words=5), "Cheap red shoes, blue hats, green socks!")
    assert (no_stops.rule, no_stops.value) == ("gopher_stop_words", 0)
    bullets = "\n".join(f"- item number {i} on this list of things" for i in range(20))
    assert judge(GopherQualityFilter(min_words=5), bullets).rule == "gopher_bullet_lines"


def test_gopher_quality_korean_uses_eojeol_and_particles():
    step = GopherQualityFilter(min_words=10)
    assert judge(step, KO, "ko") is None
    assert korean_stop_word_count(words("강은 바다로 흘러 도 간다")) == 2  # a bare 도 is no word
    no_particles = (
        "지금구매 무료배송 클릭하세요 할인쿠폰 신상품 특별할인 지금구매 무료배송 오늘만 확인"
    )
    assert judge(step, no_particles, "ko").rule == "gopher_stop_words"
    assert judge(GopherQualityFilter(min_words=10, ko_word_unit="char"), KO, "ko") is None


def test_gopher_repetition():
    step = GopherRepetitionFilter()
    assert judge(step, PROSE) is None
    lines = judge(step, "\n".join(["Page not found."] * 5 + ["Try again later."]))
    assert lines.rule == "gopher_dup_line_frac" and lines.threshold == 0.3
    spam = " ".join(["buy cheap shoes today"] * 10) + " " + PROSE
    assert judge(step, spam).rule.startswith("gopher_top_") or "dup" in judge(step, spam).rule
    assert duplicated_ngram_char_fraction(list("abcdeabcde"), 5) == 1.0


def test_c4_removes_lines_and_counts_sentences():
    step = C4QualityFilter()
    doc = Document("d", "Home | About\n" + PROSE + "\nEnable javascript to see more.\n[1]", {})
    assert step.apply(doc) is None
    assert doc.text == PROSE and doc.meta["c4_lines_removed"] == 3
    assert judge(step, PROSE + " Lorem ipsum dolor.").rule == "c4_lorem_ipsum"
    assert judge(step, PROSE + " x = {1}.").rule == "c4_curly_bracket"
    few = judge(step, "One sentence here. Two sentences here.")
    assert (few.rule, few.value, few.threshold) == ("c4_min_sentences", 2, 5)


def test_fineweb_rules():
    step = FineWebQualityFilter()
    assert judge(step, PROSE) is None
    menu = "\n".join(["Home", "Products", "Contact us", "A longer line that ends well."])
    assert judge(step, menu).rule == "fineweb_short_line_ratio"
    assert judge(step, "no punctuation here\nnor here at all\nstill none").rule == (
        "fineweb_line_punct_ratio"
    )
    dup = judge(step, PROSE + "\n" + PROSE)
    assert dup.rule == "fineweb_char_dup_ratio" and dup.threshold == 0.01


def test_korean_filter_hangul_ratio_and_chat_noise():
    step = KoreanQualityFilter()
    assert judge(step, KO, "ko") is None
    assert judge(step, PROSE, "en") is None
    assert judge(step, "This is English text marked as Korean.", "ko").rule == "ko_hangul_ratio"
    chat = KO + " ㅋㅋㅋㅋㅋㅋㅋㅋ ㅠㅠㅠㅠ ^^ ㅎㅎㅎㅎ"
    assert chat_noise_ratio(chat) > 0.05 and judge(step, chat, "ko").rule == "ko_chat_noise"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_recipe_quality_filters_keep_clean_lab_docs(small_lab_docs, lang):
    raw, truth = small_lab_docs
    names = {
        "gopher_quality",
        "gopher_repetition",
        "korean_quality",
        "c4_quality",
        "fineweb_quality",
    }
    steps = [s for s in load_recipe("recipes/data/web-en-ko.yaml").steps if s.name in names]
    assert len(steps) == len(names)
    clean = [r for r in raw if truth[r["id"]]["planted"] == "clean" and r["meta"]["lang"] == lang]
    kept = 0
    for record in clean:
        doc = Document(record["id"], record["text"], dict(record["meta"]))
        kept += all(step.apply(doc) is None for step in steps)
    assert kept / len(clean) >= 0.98
