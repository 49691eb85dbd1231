"""Validators behind `lmforge.data.pii`: checksums, dates and entropy that a regex cannot check.

Each function takes the matched text and says whether (or how surely) it is the real thing:
a 16-digit number is a card only if it passes Luhn, `900101-1234567` is a resident
registration number only if the date exists. Pure functions; try one:
`python -c "from lmforge.data.pii_checks import luhn_ok; print(luhn_ok('4111111111111111'))"`.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from datetime import date

# Korean resident (RRN) and foreigner (FRN) registration numbers: YYMMDD-GNNNNNC, where G
# gives sex and century. RRN: 1/2 = 1900s, 3/4 = 2000s, 9/0 = 1800s; FRN: 5/6 = 1900s,
# 7/8 = 2000s.
_CENTURY = {"1": 1900, "2": 1900, "3": 2000, "4": 2000, "9": 1800, "0": 1800}
_CENTURY |= {"5": 1900, "6": 1900, "7": 2000, "8": 2000}
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)

# Confidence of a registration number whose date and sex digit are valid but whose check
# digit is not: numbers issued since October 2020 end in random digits with no checksum,
# so a failed check cannot rule a well-formed number out.
UNCHECKED_CONFIDENCE = 0.5


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by every payment card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_ok(raw: str) -> bool:
    """13-19 digits, Luhn-valid, a card-network first digit (2-6), not one digit repeated."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    return (
        13 <= len(digits) <= 19
        and digits[0] in "23456"
        and len(set(digits)) > 1
        and luhn_ok(digits)
    )


def registration_kind(raw: str) -> tuple[str, float] | None:
    """("KR_RRN" | "KR_FRN", confidence) for a valid YYMMDD + sex digit, else None.

    Confidence is 1.0 with a correct check digit and `UNCHECKED_CONFIDENCE` without one
    (see above). Without a hyphen the number is just 13 digits, so it must pass the check.
    """
    digits = raw.replace("-", "").replace(" ", "")
    if len(digits) != 13 or not _birth_date_ok(digits[:6], digits[6]):
        return None
    foreign = digits[6] in "5678"
    kind = "KR_FRN" if foreign else "KR_RRN"
    total = sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))
    check = (13 - total % 11) % 10 if foreign else (11 - total % 11) % 10
    if check == int(digits[12]):
        return kind, 1.0
    return (kind, UNCHECKED_CONFIDENCE) if "-" in raw else None


def _birth_date_ok(yymmdd: str, sex_digit: str) -> bool:
    year = _CENTURY[sex_digit] + int(yymmdd[:2])
    try:
        born = date(year, int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:  # month 13, 30 February, ...
        return False
    return born <= date.today()


def brn_ok(raw: str) -> bool:
    """A Korean business registration number NNN-NN-NNNNN with the National Tax Service check."""
    d = [int(ch) for ch in raw if ch.isdigit()]
    if len(d) != 10:
        return False
    total = sum(x * w for x, w in zip(d[:9], _BRN_WEIGHTS, strict=True)) + d[8] * 5 // 10
    return (10 - total % 10) % 10 == d[9]


def ipv4_ok(raw: str) -> bool:
    """Four octets 0-255 without leading zeros ("01.2.3.4" is not written as an address)."""
    parts = raw.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts
    )


def ipv6_ok(raw: str) -> bool:
    """A real IPv6 address with 2+ groups and 4+ hex digits ("::1", "a::b" are not PII)."""
    try:
        ipaddress.IPv6Address(raw)
    except ValueError:
        return False
    groups = [g for g in raw.split(":") if g]
    return len(groups) >= 2 and sum(map(len, groups)) >= 4


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s character distribution."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) if n else 0.0


def high_entropy_token_ok(raw: str, min_entropy: float) -> bool:
    """An API-key-like token: upper, lower and digits all present, entropy >= `min_entropy`.

    Requiring all three classes leaves out words, hex digests (commit ids) and numbers.
    """
    classes = (any(c.isupper() for c in raw), any(c.islower() for c in raw))
    has_digit = any(c.isdigit() for c in raw)
    return all(classes) and has_digit and shannon_entropy(raw) >= min_entropy
