"""Text measurements behind `JunkFilter`, for English and Korean alike.

A "word" is a whitespace-separated token; in Korean that is an eojeol (a word plus its
particles). Letters are `str.isalpha`, so Hangul and Hanja count as letters. Words are compared
casefolded with punctuation stripped from their edges ("Copper," == "copper").

Small pure functions (no library measures these on plain strings with Korean in mind); try one:
`python -c "from lmforge.data import textstats as t; print(t.letter_ratio('카모리 #1'))"`.
"""

from __future__ import annotations

import re
from collections import Counter

# Gopher's stop words ("the", "be", "to", "of", "and", "that", "have", "with") plus the other
# most frequent English function words, so that a one-sentence paragraph has some.
# fmt: off
ENGLISH_FUNCTION_WORDS = frozenset({
    "the", "be", "to", "of", "and", "that", "have", "with", "a", "an", "is", "are", "was",
    "were", "in", "on", "at", "by", "for", "from", "as", "it", "its", "this", "or", "not", "but",
    "has", "had",
})
# fmt: on
# Last syllables of the most common Korean particles and endings (은/는/이/가/을/를/의/에/도/로,
# 와/과, 에서, -다, -고, -며, -한/-된/-인): natural Korean prose ends most eojeol with one of
# them, while random Hangul syllables (Korean character soup) almost never do.
KOREAN_FUNCTION_ENDINGS = frozenset("은는이가을를의에도로와과서다고며한된인")

_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


def letter_ratio(text: str) -> float:
    """Letters (any script: Latin, Hangul, Hanja, ...) over non-whitespace characters."""
    compact = "".join(text.split())
    return sum(map(str.isalpha, compact)) / len(compact) if compact else 0.0


def duplicate_line_fraction(text: str) -> float:
    """The fraction of non-blank lines (whitespace-collapsed) that repeat an earlier line."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    return (len(lines) - len(set(lines))) / len(lines) if lines else 0.0


def normalized_words(text: str) -> list[str]:
    """The words of `text`, casefolded, edge punctuation stripped, pure punctuation left out."""
    tokens = text.casefold().split()
    # Strip punctuation once per distinct token, not once per token: far fewer regex calls.
    clean = {token: _EDGE_PUNCT.sub("", token) for token in set(tokens)}
    return [clean[token] for token in tokens if clean[token]]


def top_word_fraction(words: list[str]) -> float:
    """The share of the most frequent of `words`."""
    return Counter(words).most_common(1)[0][1] / len(words) if words else 0.0


def word_variety(words: list[str], window: int = 50) -> float:
    """Mean type-token ratio (distinct / all words) over consecutive `window`-word chunks.

    Chunked so that the measure does not fall with document length as a plain type-token ratio
    does: natural text scores about 0.6-0.9 per 50 words, keyword spam mixing a few phrases
    scores below 0.3. A trailing chunk shorter than half a window joins the averaging only
    when it is the only chunk.
    """
    chunks = [words[i : i + window] for i in range(0, len(words), window)]
    full = [c for c in chunks if len(c) * 2 >= window] or chunks
    return sum(len(set(c)) / len(c) for c in full) / len(full) if full else 0.0


def function_word_ratio(words: list[str]) -> float:
    """The share of words that are English function words or Korean eojeol with a particle."""
    hits = sum(w in ENGLISH_FUNCTION_WORDS or w[-1] in KOREAN_FUNCTION_ENDINGS for w in words)
    return hits / len(words) if words else 0.0
