"""Find and redact personal data and secrets in English and Korean text.

    from lmforge.data.pii import find_pii, redact
    find_pii("mail minji@example.com")  # [PiiSpan(kind="EMAIL", start=5, end=22, ...)]
    redact("전화 010-1234-5678")         # "전화 <PHONE>"

or as a curation step, `PiiRedactor()`, or from the shell: `lmforge data pii -i raw/ -o out/`.

Each rule is a regex that finds candidates plus a validator (`pii_checks`) that rejects what
only looks like PII. Kinds and their rules:

- EMAIL: ASCII local@domain.tld.
- PHONE: Korean mobile (010-1234-5678, 01012345678), Korean landline with separators
  (02-123-4567, (031) 123-4567), international `+CC ...` with 8-15 digits (+82 10-..., +1 ...),
  North American (555) 123-4567 / 555-123-4567.
- IP_ADDRESS: IPv4 with octets 0-255 and no leading zeros; IPv6 that `ipaddress` accepts
  with 2+ groups and 4+ hex digits ("a::b" in C++ is no address). A
  dotted quad right after "v", "version", "ver." or "버전" is a version string, not an
  address; any other valid dotted quad ("1.2.3.4") is reported: a false positive costs a
  placeholder, a miss leaks an address.
- CREDIT_CARD: 13-19 digits in groups of four (or Amex 4-6-5), first digit 2-6, Luhn-valid.
- KR_RRN / KR_FRN: YYMMDD-GNNNNNN with a real birth date; G 1-4, 9, 0 is a resident, 5-8 a
  foreigner. A failed check digit is still reported, with confidence 0.5, when the number is
  hyphenated: numbers issued since October 2020 carry no checksum. Unhyphenated, it must pass.
- KR_BRN: NNN-NN-NNNNN business registration number with the official check digit.
- SECRET: AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_,
  github_pat_), OpenAI-style keys (sk-..., 20+ characters), PEM private-key blocks, and any
  token of `MIN_SECRET_LENGTH`+ characters from [A-Za-z0-9+/_-] (plus "=" padding) that
  mixes upper case, lower case and digits with Shannon entropy >= `MIN_SECRET_ENTROPY` bits
  per character (random keys of 32+ base62/base64 characters score 4.5-5, camelCase names like
  `getElementById2020Handler` 3.8; a random 20-character key is borderline (about 4.0), which
  is why the well-known key formats have their own rules).
- URL_CREDENTIALS: scheme://user:password@host.

Overlaps: the longest span wins, then the more specific rule (a card number inside a URL with
credentials goes with the URL; an RRN is preferred to a card on the same digits).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from lmforge.data import pii_checks as checks
from lmforge.data.document import Document, DropReason
from lmforge.data.step import DocumentStep

MIN_SECRET_LENGTH = 20
MIN_SECRET_ENTROPY = 4.0

KINDS = (
    "EMAIL", "PHONE", "IP_ADDRESS", "CREDIT_CARD", "KR_RRN", "KR_FRN", "KR_BRN", "SECRET",
    "URL_CREDENTIALS",
)  # fmt: skip


@dataclass(frozen=True)
class PiiSpan:
    """`text[start:end]` is personal data of `kind`; `detail` names the rule that found it."""

    kind: str
    start: int
    end: int
    confidence: float = 1.0
    detail: str = ""


# A validator returns None to reject, or (kind, confidence) to accept.
Check = Callable[[str, str, int], tuple[str, float] | None]


@dataclass(frozen=True)
class _Rule:
    detail: str
    kind: str
    pattern: re.Pattern[str]
    priority: int  # breaks ties between spans of equal length: higher is more specific
    check: Check | None = None


def _accept_if(ok: Callable[[str], bool], kind: str) -> Check:
    return lambda raw, text, start: (kind, 1.0) if ok(raw) else None


def _phone_check(raw: str, text: str, start: int) -> tuple[str, float] | None:
    return ("PHONE", 1.0) if 8 <= sum(c.isdigit() for c in raw) <= 15 else None


_VERSION_BEFORE = re.compile(r"(?:\bv|version|ver\.|버전)\s*$", re.IGNORECASE)


def _ipv4_check(raw: str, text: str, start: int) -> tuple[str, float] | None:
    if not checks.ipv4_ok(raw) or _VERSION_BEFORE.search(text[max(0, start - 12) : start]):
        return None
    return "IP_ADDRESS", 1.0


def _registration_check(raw: str, text: str, start: int) -> tuple[str, float] | None:
    return checks.registration_kind(raw)


def _secret_check(raw: str, text: str, start: int) -> tuple[str, float] | None:
    ok = checks.high_entropy_token_ok(raw, MIN_SECRET_ENTROPY)
    return ("SECRET", 0.8) if ok else None


def _rule(detail: str, kind: str, rx: str, priority: int, check: Check | None = None) -> _Rule:
    return _Rule(detail, kind, re.compile(rx), priority, check)


_SECRET_CHARS = r"[A-Za-z0-9+/_-]"  # "=" only as base64 padding: "KEY=value" splits at "="
RULES: tuple[_Rule, ...] = (
    _rule("pem_private_key", "SECRET", r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----", 100),  # noqa: E501
    _rule("url_credentials", "URL_CREDENTIALS", r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/?#]+", 90),  # noqa: E501
    _rule("aws_access_key_id", "SECRET", r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", 80),  # noqa: E501
    _rule("github_token", "SECRET", r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])", 80),  # noqa: E501
    _rule("openai_key", "SECRET", r"(?<![A-Za-z0-9_-])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])", 80),  # noqa: E501
    _rule("kr_registration", "KR_RRN", r"(?<![\d-])\d{6}-?\d{7}(?![\d-])", 70, _registration_check),
    _rule("kr_business", "KR_BRN", r"(?<![\d-])\d{3}-\d{2}-\d{5}(?![\d-])", 65, _accept_if(checks.brn_ok, "KR_BRN")),  # noqa: E501
    _rule("credit_card", "CREDIT_CARD", r"(?<![\d-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|3\d{3}[ -]?\d{6}[ -]?\d{5})(?![\d-])", 60, _accept_if(checks.card_ok, "CREDIT_CARD")),  # noqa: E501
    _rule("email", "EMAIL", r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])", 50),  # noqa: E501
    _rule("ipv4", "IP_ADDRESS", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)", 40, _ipv4_check),
    _rule("ipv6", "IP_ADDRESS", r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", 40, _accept_if(checks.ipv6_ok, "IP_ADDRESS")),  # noqa: E501
    _rule("phone_intl", "PHONE", r"(?<![\w+])\+[1-9]\d{0,2}(?:[-. ]?\(?\d{1,4}\)?){1,5}(?!\d)", 30, _phone_check),  # noqa: E501
    _rule("phone_kr_mobile", "PHONE", r"(?<![\d+])01[016789][-. ]?\d{3,4}[-. ]?\d{4}(?!\d)", 30),
    _rule("phone_kr_landline", "PHONE", r"(?<![\d+])(?:\(0(?:2|[3-6][1-5])\)\s?|0(?:2|[3-6][1-5])[-. ])\d{3,4}[-. ]\d{4}(?!\d)", 30),  # noqa: E501
    _rule("phone_nanp", "PHONE", r"(?<![\d(])(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)", 30),
    _rule("high_entropy_token", "SECRET", rf"(?<!{_SECRET_CHARS}){_SECRET_CHARS}{{{MIN_SECRET_LENGTH},}}={{0,2}}(?![A-Za-z0-9+/_=-])", 10, _secret_check),  # noqa: E501
)  # fmt: skip


def find_pii(text: str, kinds: frozenset[str] | None = None) -> list[PiiSpan]:
    """The PII spans of `text` (only `kinds` if given), non-overlapping, in text order."""
    found: list[tuple[PiiSpan, int]] = []
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            verdict = (rule.kind, 1.0) if rule.check is None else rule.check(m[0], text, m.start())
            if verdict is not None and (kinds is None or verdict[0] in kinds):
                span = PiiSpan(verdict[0], m.start(), m.end(), verdict[1], rule.detail)
                found.append((span, rule.priority))
    return sorted(_resolve(found), key=lambda s: s.start)


def _resolve(found: list[tuple[PiiSpan, int]]) -> list[PiiSpan]:
    """Keep the longest span of each overlapping group; equal lengths go to higher priority."""
    kept: list[PiiSpan] = []
    for span, _ in sorted(found, key=lambda f: (f[0].start - f[0].end, -f[1], f[0].start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return kept


def redact(text: str, spans: list[PiiSpan] | None = None) -> str:
    """`text` with every PII span replaced by its typed placeholder, e.g. `<EMAIL>`."""
    spans = find_pii(text) if spans is None else spans
    parts, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        parts += [text[pos : span.start], f"<{span.kind}>"]
        pos = span.end
    return "".join(parts) + text[pos:]


@dataclass
class PiiRedactor(DocumentStep):
    """Redact PII in kept documents; counts by kind go to `meta["pii"]` (absent if none).

    `kinds` limits which kinds are redacted (default: all of `KINDS`); spans below
    `min_confidence` are left alone (0.5 would leave post-2020 registration numbers).
    Never drops a document.
    """

    name: str = "pii"
    kinds: tuple[str, ...] = KINDS
    min_confidence: float = 0.0
    _kinds: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown PII kind(s) {unknown}; known: {', '.join(KINDS)}")
        self._kinds = frozenset(self.kinds)

    def apply(self, doc: Document) -> DropReason | None:
        spans = [s for s in find_pii(doc.text, self._kinds) if s.confidence >= self.min_confidence]
        if spans:
            doc.text = redact(doc.text, spans)
            doc.meta["pii"] = dict(sorted(Counter(s.kind for s in spans).items()))
        return None
