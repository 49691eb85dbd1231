"""Planted noise for the raw crawl: boilerplate, junk pages and near duplicates.

Each function returns text only; which document is noise, and of what kind, is recorded by
`raw.py` in raw_truth.jsonl and never in the documents themselves.
"""

from __future__ import annotations

import random
import string

from lmforge.lab.names import SYLLABLES

BOILERPLATE: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "nav": ("Home | About | Contact", "Home > Towns > Article", "Menu | Search | Sign in"),
        "cookie": (
            "We use cookies to improve your experience. Accept all",
            "This site uses cookies. By continuing you agree to our cookie policy.",
        ),
        "footer": (
            "© 2024 All rights reserved",
            "Privacy Policy | Terms of Use",
            "Subscribe to our newsletter",
            "Share on Facebook | Share on X",
        ),
    },
    "ko": {
        "nav": ("홈 | 소개 | 문의", "홈 > 도시 > 문서", "메뉴 | 검색 | 로그인"),
        "cookie": (
            "이 사이트는 더 나은 서비스를 위해 쿠키를 사용합니다. 모두 허용",
            "계속 이용하시면 쿠키 정책에 동의하는 것으로 간주합니다.",
        ),
        "footer": (
            "© 2024 모든 권리 보유",
            "개인정보처리방침 | 이용약관",
            "뉴스레터 구독하기",
            "페이스북에 공유 | 카카오톡에 공유",
        ),
    },
}

_SPAM = {
    "en": ("buy cheap", "best price", "click here", "free shipping", "limited offer"),
    "ko": ("최저가", "지금 구매", "무료 배송", "한정 특가", "클릭하세요"),
}
_REPEATED = {
    "en": ("Click here to win a prize!", "Page not found.", "Loading..."),
    "ko": ("지금 바로 클릭하세요!", "페이지를 찾을 수 없습니다.", "로딩 중..."),
}
_FRAGMENTS = {
    "en": ("ok", "see more", "next page", "N/A", "[image]"),
    "ko": ("더 보기", "다음 페이지", "이미지", "확인", "없음"),
}
_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat."
)
JUNK_KINDS = ("soup", "spam", "repeat", "fragment", "lorem")

# Small, meaning-keeping word swaps for near duplicates (never a name, value or year).
_SWAPS = {
    "en": {
        "town": "city", "main": "chief", "mainly": "largely", "known": "famous",
        "chose": "picked", "shows": "bears", "flies": "raises", "established": "set up",
        "people": "citizens", "uses": "keeps",
    },
    "ko": {
        "도시이다.": "고장이다.", "주요": "주된", "주로": "대개", "사람들은": "주민들은",
        "내건다.": "내걸고 있다.", "사용한다.": "쓴다.", "속한다.": "들어간다.",
        "건립되었다.": "지어졌다.",
    },
}  # fmt: skip
_EDIT_LINES = {
    "en": ("Last edited 3 days ago.", "This page was last updated in 2023."),
    "ko": ("마지막 수정: 3일 전", "이 문서는 2023년에 마지막으로 수정되었다."),
}


def boilerplate_page(rng: random.Random, lang: str) -> str:
    """A page that is nothing but navigation, cookie banner and footer."""
    parts = BOILERPLATE[lang]
    lines = [rng.choice(parts["nav"]), rng.choice(parts["cookie"])]
    lines += rng.sample(parts["footer"], rng.randrange(1, len(parts["footer"]) + 1))
    return "\n".join(lines)


def add_boilerplate(rng: random.Random, text: str, lang: str) -> str:
    """A clean text wrapped in site chrome: maybe a nav line on top, footer lines below."""
    parts = BOILERPLATE[lang]
    lines = [text, *rng.sample(parts["cookie"] + parts["footer"], rng.randrange(1, 3))]
    if rng.random() < 0.5:
        lines.insert(0, rng.choice(parts["nav"]))
    return "\n".join(lines)


def junk(rng: random.Random, lang: str, kind: str) -> str:
    """A junk page of one of `JUNK_KINDS`."""
    if kind == "soup":
        return _soup(rng, lang)
    if kind == "spam":
        return " ".join(rng.choice(_SPAM[lang]) for _ in range(rng.randrange(20, 40)))
    if kind == "repeat":
        return "\n".join([rng.choice(_REPEATED[lang])] * rng.randrange(15, 30))
    if kind == "fragment":
        return rng.choice(_FRAGMENTS[lang])
    return _LOREM


def _soup(rng: random.Random, lang: str) -> str:
    """Random characters; Korean soup avoids the name syllables so it never spells a name."""
    if lang == "ko":
        taken = {ko for _, ko in SYLLABLES}
        pool = [chr(c) for c in range(0xAC00, 0xAC00 + 2000) if chr(c) not in taken]
    else:
        pool = list(string.ascii_lowercase + string.digits)  # lowercase: never a Name
    pool += list("#@%&*!?~^;:")
    words = ("".join(rng.choices(pool, k=rng.randrange(2, 9))) for _ in range(60))
    return " ".join(words)


def near_duplicate(rng: random.Random, text: str, lang: str) -> str:
    """`text` with one to three words swapped, or an edit note appended."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower() in _SWAPS[lang]]
    if not spots or rng.random() < 0.3:
        return text + "\n" + rng.choice(_EDIT_LINES[lang])
    for i in rng.sample(spots, min(len(spots), rng.randrange(1, 4))):
        swap = _SWAPS[lang][words[i].lower()]
        words[i] = swap.capitalize() if words[i][0].isupper() else swap
    return " ".join(words)
