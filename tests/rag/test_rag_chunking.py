"""Chunking: token budgets, overlap, headings, English and Korean sentences, real tokenizers."""

from __future__ import annotations

import pytest

from lmforge.errors import LmforgeError
from lmforge.rag.chunking import Counter, chunk_text, split_sentences, token_counter


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


WORDS = Counter(words, "words")  # one token per whitespace word: easy to check by hand


def test_english_sentences_respect_abbreviations_and_numbers():
    text = "Dr. Lee met J. Smith, e.g. at noon. Prices rose 3.5 percent! Why? “Quoted.” Next"
    assert split_sentences(text) == [
        "Dr. Lee met J. Smith, e.g. at noon.", "Prices rose 3.5 percent!", "Why?", "“Quoted.”",
        "Next",
    ]  # fmt: skip


def test_korean_sentences_end_at_final_endings_even_without_a_period():
    text = "할타로는 1853년에 세워졌다. 도시에는 시장이 있다 사람들이 많습니다 정말요? 네"
    assert split_sentences(text) == [
        "할타로는 1853년에 세워졌다.", "도시에는 시장이 있다", "사람들이 많습니다", "정말요?", "네",
    ]  # fmt: skip


def test_chunks_fit_the_budget_and_overlap_by_whole_sentences():
    text = " ".join(f"Sentence {i} has five words." for i in range(20))  # 5 words each
    chunks = chunk_text(text, WORDS, chunk_tokens=20, overlap=5)
    assert all(c.n_tokens <= 20 for c in chunks)
    assert chunks[0].text.split(". ")[-1] == "Sentence 3 has five words."
    assert chunks[1].text.startswith("Sentence 3 has five words. Sentence 4")  # 5-token overlap
    covered = {s for c in chunks for s in split_sentences(c.text)}
    assert covered == set(split_sentences(text))
    no_overlap = chunk_text(text, WORDS, chunk_tokens=20, overlap=0)
    assert [c.n_tokens for c in no_overlap] == [20, 20, 20, 20, 20]


def test_small_sections_share_a_chunk_and_big_ones_start_their_own():
    history = " ".join(f"Event {i} happened then." for i in range(6))
    text = f"# Town\n\nIntro words here.\n\n## Trade\n\nHoney is sold.\n\n## History\n\n{history}"
    chunks = chunk_text(text, WORDS, chunk_tokens=16, overlap=4, title="Town")
    assert chunks[0].text == "# Town\n\nIntro words here.\n\n## Trade\n\nHoney is sold."
    assert chunks[0].context == ""  # it starts with the title's own heading
    assert chunks[1].text.startswith("## History\n\nEvent 0 happened then.")
    assert chunks[1].context == "Town"
    assert chunks[2].context == "Town > History" and chunks[2].text.startswith("Event")
    assert chunks[2].indexed_text == "Town > History\n" + chunks[2].text
    # overlap never crosses a heading: no chunk holds text of two sections unless all fit
    assert not any("Honey" in c.text for c in chunks[1:])


def test_setext_headings_code_fences_and_long_sentences():
    text = "Guide\n=====\n\n```\n# not a heading\n```\n\n" + "word " * 50
    chunks = chunk_text(text, WORDS, chunk_tokens=20, overlap=0, title="Guide")
    assert chunks[0].text.startswith("# Guide\n\n```")
    assert "# not a heading" in chunks[0].text
    assert all(c.n_tokens <= 20 for c in chunks) and len(chunks) == 4
    assert sum(c.text.count("word") for c in chunks) == 50


def test_pages_are_kept_and_bad_sizes_are_refused():
    assert chunk_text("Some text.", WORDS, 16, 0, page=4)[0].page == 4
    with pytest.raises(LmforgeError, match="--overlap 9 must be between 0 and half"):
        chunk_text("x", WORDS, 16, 9)
    with pytest.raises(LmforgeError, match="too small"):
        chunk_text("x", WORDS, 4, 0)


def test_counters_use_real_tokenizers(tokenizer_dir):
    from transformers import AutoTokenizer

    counter = token_counter(tokenizer_dir=tokenizer_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = "the town of kamori lies in the velden region"
    assert counter([text]) == [len(tokenizer(text, add_special_tokens=False)["input_ids"])]
    assert counter.name.startswith("tokenizer:")
    assert token_counter(None).name == "approx"
    assert token_counter(None)(["one two, three", "할타로는"]) == [4, 2]
    with pytest.raises(LmforgeError, match="holds no tokenizer"):
        token_counter(tokenizer_dir=tokenizer_dir / "missing")
