"""Measurements behind the Gopher, C4 and FineWeb filters (`quality.py`), Korean-aware.

Words: `words(text, unit)` -- "eojeol" (whitespace tokens, the default; for Korean one
eojeol is a word plus its particles) or "char" (every non-space character, for scripts
written without spaces or to compare Korean by syllable). Punctuation-only tokens are not
words. The n-gram measures follow Rae et al. 2021 (Gopher, appendix A) as datatrove
implements them (`datatrove/pipeline/filters/gopher_repetition_filter.py`).
"""

from __future__ import annotations

import re
from collections import Counter

_PUNCT_ONLY = re.compile(r"^\W+$")
_SENTENCE_END = re.compile(r"[.?!。？！]+(?=[\"'”’)\]]*(?:\s|$))")
# Korean particles that end an eojeol (이, 가, 은, 는, 을, 를, 의, 에, 에서, 와, 과, 도, 로,
# 으로): the Korean counterpart of Gopher's English stop words.
KOREAN_PARTICLES = (
    "에서",
    "으로",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "의",
    "에",
    "와",
    "과",
    "도",
    "로",
)
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# Korean chat noise: runs of laughing/crying jamo (ㅋㅋ, ㅎㅎ, ㅠㅠ, ㅜㅜ, ㄷㄷ) and emoticons.
_CHAT_RUN = re.compile(r"[ㅋㅎㅠㅜㄷㄱㅇ]{2,}|\^[_.]?\^|[Tㅠ]_[Tㅠ]|;;+|:\)|:\(|:D")


def words(text: str, unit: str = "eojeol") -> list[str]:
    """The words of `text`: whitespace tokens ("eojeol") or non-space characters ("char")."""
    if unit == "char":
        return [c for c in text if not c.isspace() and c.isalnum()]
    return [w for w in text.split() if not _PUNCT_ONLY.match(w)]


def hangul_ratio(text: str) -> float:
    """Hangul (syllables and jamo) over all letters; 0 without letters."""
    letters = [c for c in text if c.isalpha()]
    hangul = sum("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e" for c in letters)
    return hangul / len(letters) if letters else 0.0


def is_korean(text: str, lang: str | None) -> bool:
    """`lang` when the document says ("ko"), else: most letters are Hangul."""
    return lang == "ko" if lang else hangul_ratio(text) >= 0.5


def korean_stop_word_count(tokens: list[str]) -> int:
    """Eojeol that end in a particle (a bare particle does not count)."""
    stripped = (re.sub(r"\W+$", "", t) for t in tokens)
    return sum(any(t.endswith(p) and len(t) > len(p) for p in KOREAN_PARTICLES) for t in stripped)


def english_stop_word_count(tokens: list[str]) -> int:
    return sum(re.sub(r"^\W+|\W+$", "", t).casefold() in GOPHER_STOP_WORDS for t in tokens)


def chat_noise_ratio(text: str) -> float:
    """Characters in ㅋㅋ/ㅠㅠ/ㅎㅎ runs and emoticons over non-space characters."""
    compact = len("".join(text.split()))
    return sum(len(m) for m in _CHAT_RUN.findall(text)) / compact if compact else 0.0


def sentence_count(text: str) -> int:
    """Sentence ends (. ? ! and their full-width forms) followed by space or end of text."""
    return len(_SENTENCE_END.findall(text))


def nonblank_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def duplicate_fractions(parts: list[str]) -> tuple[float, float]:
    """(share of parts that repeat an earlier one, share of characters in those repeats)."""
    if not parts:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_n = dup_chars = 0
    for part in parts:
        if part in seen:
            dup_n += 1
            dup_chars += len(part)
        seen.add(part)
    return dup_n / len(parts), dup_chars / max(1, sum(len(p) for p in parts))


def top_ngram_char_fraction(tokens: list[str], n: int) -> float:
    """Characters of the most frequent n-gram (times its count) over all word characters."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    gram, count = Counter(grams).most_common(1)[0]
    if count < 2:
        return 0.0
    return sum(map(len, gram)) * count / max(1, sum(map(len, tokens)))


def duplicated_ngram_char_fraction(tokens: list[str], n: int) -> float:
    """Characters of words covered by n-grams that occur more than once, over all characters.

    As in Gopher: overlapping repeats count each word once.
    """
    total = sum(map(len, tokens))
    if len(tokens) < n or total == 0:
        return 0.0
    first: dict[tuple[str, ...], int] = {}
    covered = [False] * len(tokens)
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        if gram in first:
            for j in (*range(first[gram], first[gram] + n), *range(i, i + n)):
                covered[j] = True
        else:
            first[gram] = i
    return sum(len(t) for t, c in zip(tokens, covered, strict=True) if c) / total
