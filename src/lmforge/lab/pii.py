"""Personal data planted into otherwise clean raw documents, for the PII filter to find.

Everything is fake but well-formed: card numbers pass the Luhn check, Korean resident
registration numbers (RRN) carry a valid check digit, phone numbers follow real Korean and
North American layouts, so a filter that validates what it matches still finds them.
"""

from __future__ import annotations

import random

KINDS: tuple[str, ...] = ("email", "phone", "rrn", "card", "ipv4")

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_USERS = ("minji.kim", "jhpark", "s.lee", "anna.w", "tom_b", "hyunwoo", "rosa.m", "d.choi")
_DOMAINS = ("example.com", "mail.example.org", "example.net", "example.co.kr")

SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "email": ("For bookings, write to {v}.", "Questions about this page: {v}"),
        "phone": ("Call the visitor office at {v}.", "Tour desk: {v}"),
        "rrn": ("Guide on duty, resident registration no. {v}.", "Registered under {v}."),
        "card": ("Payment card on file: {v}.", "Charged to card {v}."),
        "ipv4": ("Last edited from {v}.", "Uploaded by {v}."),
    },
    "ko": {
        "email": ("예약 문의: {v}", "문서 관련 문의는 이메일 {v} 주소로 보내 주세요."),
        "phone": ("관광 안내소 전화번호: {v}", "투어 문의 전화 {v}"),
        "rrn": ("담당자 주민등록번호: {v}", "등록 번호 {v}"),
        "card": ("결제 카드 번호: {v}", "카드 {v} 결제 완료."),
        "ipv4": ("마지막 수정 IP: {v}", "작성자 IP {v}"),
    },
}


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these are the doubled positions once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    """A 16-digit, Luhn-valid number with a Visa-like prefix, grouped by 4."""
    payload = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    digits = payload + luhn_check_digit(payload)
    sep = rng.choice((" ", "-", ""))
    return sep.join(digits[i : i + 4] for i in range(0, 16, 4))


def rrn_check_digit(first12: str) -> str:
    total = sum(int(d) * w for d, w in zip(first12, _RRN_WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def rrn(rng: random.Random) -> str:
    """A resident registration number YYMMDD-SXXXXXC with a valid date and check digit."""
    year = rng.randrange(1950, 2010)
    birth = f"{year % 100:02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    sex = rng.choice("12") if year < 2000 else rng.choice("34")
    first12 = birth + sex + "".join(str(rng.randrange(10)) for _ in range(5))
    return f"{first12[:6]}-{first12[6:]}{rrn_check_digit(first12)}"


def phone(rng: random.Random, lang: str) -> str:
    a, b = rng.randrange(1000, 10000), rng.randrange(1000, 10000)
    if lang == "ko" or rng.random() < 0.3:
        return rng.choice((f"010-{a}-{b}", f"+82 10-{a}-{b}"))
    return rng.choice((f"(555) {a % 1000:03d}-{b}", f"+1 555-{a % 1000:03d}-{b}"))


def email(rng: random.Random) -> str:
    return f"{rng.choice(_USERS)}{rng.randrange(100)}@{rng.choice(_DOMAINS)}"


def ipv4(rng: random.Random) -> str:
    return ".".join(str(x) for x in (rng.randrange(11, 224), *rng.choices(range(256), k=3)))


def _value(rng: random.Random, kind: str, lang: str) -> str:
    if kind == "email":
        return email(rng)
    if kind == "phone":
        return phone(rng, lang)
    if kind == "rrn":
        return rrn(rng)
    if kind == "card":
        return card_number(rng)
    return ipv4(rng)


def insert_pii(rng: random.Random, text: str, lang: str) -> tuple[str, list[str]]:
    """`text` with one or two lines of personal data added; returns the text and the kinds."""
    kinds = sorted(rng.sample(KINDS, rng.choice((1, 1, 2))))
    lines = text.split("\n")
    for kind in kinds:
        line = rng.choice(SENTENCES[lang][kind]).format(v=_value(rng, kind, lang))
        lines.insert(rng.randrange(1, len(lines) + 1), line)
    return "\n".join(lines), kinds
