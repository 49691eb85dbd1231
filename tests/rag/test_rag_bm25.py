"""BM25: the Korean-aware tokenizer, ranking, filters and saving next to the table version."""

from __future__ import annotations

from lmforge.rag.bm25 import Bm25, s_stem, tokens

TEXTS = {
    "ko-1": "할타로는 1853년에 세워졌다. 할타로의 교역은 대부분 꿀 거래이다.",
    "ko-2": "벨미라는 로코린 지방의 도시이다. 벨미라에서는 비단을 수출한다.",
    "en-1": "Haltaro exports honey. The town flies purple flags.",
    "en-2": "Velmira is known for exporting silk and for its heron.",
}


def test_korean_particles_are_stripped_and_bigrams_added():
    assert tokens("할타로는") == ["할타로", "할타", "타로", "로는"]
    assert tokens("할타로의")[0] == tokens("할타로에서")[0] == "할타로"
    assert tokens("1853년에") == ["1853", "년에"]  # scripts split; short runs stay whole
    assert tokens("꿀") == ["꿀"]


def test_english_terms_drop_stop_words_and_plural_endings():
    assert tokens("The flags of the cities") == ["flag", "city"]
    for plural, singular in [("cities", "city"), ("horses", "horse"), ("boys", "boy")]:
        assert s_stem(plural) == s_stem(singular) == singular
    exceptions = [s_stem(w) for w in ("bus", "glass", "toes", "agrees")]
    assert exceptions == ["bus", "glass", "toe", "agree"]


def test_search_ranks_the_matching_chunk_first_in_both_languages():
    index = Bm25.build(list(TEXTS), list(TEXTS.values()))
    assert index.search("할타로는 언제 세워졌나요?", 2)[0][0] == "ko-1"
    assert index.search("벨미라의 수출품은?", 2)[0][0] == "ko-2"
    assert index.search("Which town flies a purple flag?", 2)[0][0] == "en-1"
    assert index.search("unrelated words entirely", 3) == []  # no shared term: nothing
    hits = index.search("honey silk", 4)
    assert {h[0] for h in hits} == {"en-1", "en-2"} and all(s > 0 for _, s in hits)


def test_filters_limit_the_candidates():
    index = Bm25.build(list(TEXTS), list(TEXTS.values()))
    assert index.search("honey silk", 4, allowed={"en-2"}) == index.search("silk", 4)[:1]
    assert index.search("honey", 4, allowed={"en-2"}) == []


def test_save_and_load_keep_scores_and_stamp(tmp_path):
    index = Bm25.build(list(TEXTS), list(TEXTS.values()))
    index.save(tmp_path / "bm25", stamp=7)
    loaded, stamp = Bm25.load(tmp_path / "bm25")
    assert stamp == 7 and loaded.search("벨미라 silk", 4) == index.search("벨미라 silk", 4)
    Bm25.build([], []).save(tmp_path / "bm25", stamp=8)  # replaces the old one
    empty, stamp = Bm25.load(tmp_path / "bm25")
    assert stamp == 8 and empty.search("silk", 3) == []
    assert Bm25.load(tmp_path / "none") is None
