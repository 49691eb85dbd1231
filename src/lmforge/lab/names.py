"""Names that exist in both scripts, and Korean particles (josa) that fit them.

A name is three syllables from `SYLLABLES`, each with a romanized and a Hangul form, so
"ka"+"mo"+"ri" gives "Kamori" / "카모리". Korean particles depend on whether the word before
them ends in a consonant (batchim); `josa` picks the right one for names, values and numbers.
"""

from __future__ import annotations

import random

# One Hangul syllable per romanized syllable, so both forms of a name line up one to one.
# Endings mix open syllables (리), ㄴ/ㅁ finals (센, 밤) and ㄹ finals (달), which take
# different particles.
SYLLABLES: tuple[tuple[str, str], ...] = (
    ("ka", "카"), ("ko", "코"), ("ki", "키"), ("ma", "마"), ("mo", "모"), ("mi", "미"),
    ("ri", "리"), ("ra", "라"), ("ro", "로"), ("na", "나"), ("no", "노"), ("ni", "니"),
    ("ta", "타"), ("to", "토"), ("sa", "사"), ("so", "소"), ("ha", "하"), ("ho", "호"),
    ("da", "다"), ("do", "도"), ("sen", "센"), ("san", "산"), ("lin", "린"), ("mun", "문"),
    ("vel", "벨"), ("dal", "달"), ("hal", "할"), ("kol", "콜"), ("bam", "밤"), ("rim", "림"),
    ("tae", "태"), ("yun", "윤"), ("jin", "진"), ("sol", "솔"), ("pan", "판"),
)  # fmt: skip

NAME_SYLLABLES = 3

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # index of ㄹ among the final consonants

# Particle pairs: (form after a consonant, form after a vowel).
_PAIRS: dict[str, tuple[str, str]] = {
    "은/는": ("은", "는"),
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "와/과": ("과", "와"),
    "으로/로": ("으로", "로"),
}

# How the last word of a number is read: digits 0-9, then 십, 백, 천, 만 for trailing zeros.
_DIGIT_READING = "영일이삼사오육칠팔구"
_ZERO_UNITS = "십백천만"


def make_names(rng: random.Random, n: int, taken: set[str]) -> list[tuple[str, str]]:
    """`n` new (English, Korean) names, none equal to, inside or containing a taken one.

    Containment is ruled out so that looking for one name in a text never finds another.
    `taken` (lowercased English and Korean forms) is extended with the new names.
    """
    names: list[tuple[str, str]] = []
    while len(names) < n:
        parts = [rng.choice(SYLLABLES) for _ in range(NAME_SYLLABLES)]
        en = "".join(p[0] for p in parts).capitalize()
        ko = "".join(p[1] for p in parts)
        if any(_overlaps(form, other) for form in (en.lower(), ko) for other in taken):
            continue
        taken.update((en.lower(), ko))
        names.append((en, ko))
    return names


def _overlaps(a: str, b: str) -> bool:
    return a in b or b in a


def final_consonant(word: str) -> int | None:
    """Index of the final consonant of the word's last sound (0 = none); None if unknown.

    Numbers are read the Korean way (1204 → 천이백사, ends in 사). Trailing non-Hangul,
    non-digit characters (quotes, brackets) are skipped.
    """
    stripped = word.rstrip(" \"'()[]」』.,")
    if not stripped:
        return None
    if stripped[-1].isdigit():
        return _number_final(stripped)
    code = ord(stripped[-1])
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return (code - _HANGUL_FIRST) % 28
    return None


def _number_final(text: str) -> int:
    digits = text[len(text.rstrip("0123456789")) :].lstrip("0") or "0"
    zeros = len(digits) - len(digits.rstrip("0"))
    if digits == "0" or zeros == 0:
        reading = _DIGIT_READING[int(digits[-1])]
    else:
        reading = _ZERO_UNITS[min(zeros, 4) - 1]
    return (ord(reading) - _HANGUL_FIRST) % 28


def josa(word: str, pair: str) -> str:
    """`word` followed by the particle from `pair` ("은/는", "이/가", "을/를", "와/과",
    "으로/로") that fits its last sound. ㄹ-final words take 로, not 으로.

    A word whose sound is unknown (e.g. Latin letters) gets the vowel form.
    """
    after_consonant, after_vowel = _PAIRS[pair]
    final = final_consonant(word)
    consonant = bool(final)
    if pair == "으로/로" and final == _RIEUL:
        consonant = False
    return word + (after_consonant if consonant else after_vowel)


def fill_josa(template: str, **words: str) -> str:
    """Format `template`, where "{name:은/는}" means `josa(name, "은/는")`."""
    out = template
    for key, value in words.items():
        for pair in _PAIRS:
            out = out.replace(f"{{{key}:{pair}}}", josa(value, pair))
        out = out.replace(f"{{{key}}}", value)
    return out
