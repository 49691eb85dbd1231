"""PII: what is found (and what only looks like PII), redaction, the step, and the lab world."""

from __future__ import annotations

import pytest

from lmforge.data.document import Document
from lmforge.data.pii import PiiRedactor, find_pii, redact
from lmforge.data.pii_checks import UNCHECKED_CONFIDENCE, brn_ok, card_ok, luhn_ok
from lmforge.lab.pii import rrn_check_digit

POSITIVE = [
    ("write to minji.kim42@example.co.kr today", "EMAIL", "minji.kim42@example.co.kr"),
    ("문의는 jhpark@mail.example.org로 보내 주세요", "EMAIL", "jhpark@mail.example.org"),
    ("call 010-1234-5678 now", "PHONE", "010-1234-5678"),
    ("휴대폰 01098765432 으로", "PHONE", "01098765432"),
    ("서울 02-123-4567 번", "PHONE", "02-123-4567"),
    ("경기 (031) 765-4321", "PHONE", "(031) 765-4321"),
    ("from abroad +82 10-1234-5678.", "PHONE", "+82 10-1234-5678"),
    ("US desk +1 555-123-4567.", "PHONE", "+1 555-123-4567"),
    ("tour desk (555) 012-3456.", "PHONE", "(555) 012-3456"),
    ("edited from 192.168.0.12.", "IP_ADDRESS", "192.168.0.12"),
    ("host 2001:db8:85a3::8a2e:370:7334 is up", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    ("loopback ::1 and fe80::1", "IP_ADDRESS", "fe80::1"),
    ("card 4111 1111 1111 1111.", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("card 5555-5555-5555-4444", "CREDIT_CARD", "5555-5555-5555-4444"),
    ("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("visa 4012888888881881 ok", "CREDIT_CARD", "4012888888881881"),
    ("사업자등록번호 220-81-62517", "KR_BRN", "220-81-62517"),
    ("key AKIAIOSFODNN7EXAMPLE here", "SECRET", "AKIAIOSFODNN7EXAMPLE"),
    ("token ghp_" + "a1B2c3D4e5" * 4 + " leaked", "SECRET", "ghp_" + "a1B2c3D4e5" * 4),
    ("OPENAI_API_KEY=sk-proj-abcdEFGH1234ijklMNOP5678", "SECRET", "sk-proj-abcdEFGH1234ijklMNOP5678"),  # noqa: E501
    ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),  # noqa: E501
    ("clone https://bob:hunter2@git.example.com/repo", "URL_CREDENTIALS", "https://bob:hunter2@git.example.com"),
]  # fmt: skip

NEGATIVE = [
    "Version 1.2.3.4 is out, and v10.0.0.1 too.",  # version strings
    "Octets above 255: 300.1.2.3, leading zero 01.2.3.4.",
    "A 13-digit number that fails Luhn (and is no RRN): 4999999999994.",
    "A 16-digit number that fails Luhn: 4111 1111 1111 1112.",
    "All zeros 0000 0000 0000 0000 pass Luhn but are no card.",
    "Month 13 is no birth date: 901301-1234567.",
    "30 February neither: 900230-1234567.",
    "Bad gender digit without check: 9001015234567.",
    "Business number with a wrong check digit: 220-81-62518.",
    "The meeting is at 12:30:45 on 2024-01-15.",
    "A MAC address 00:1A:2B:3C:4D:5E is hardware, not an IP.",
    "std::vector and a::b are C++.",
    "getElementById2020Handler is a function name.",
    "A git commit 3f786850e387550fdab836ed7e6dc881de23001b is hex.",
    "Population 1,234,567 and year 1998.",
    "The address user@localhost has no domain.",
    "https://example.com/path?q=1 has no credentials.",
]


@pytest.mark.parametrize(("text", "kind", "value"), POSITIVE)
def test_finds_pii(text, kind, value):
    spans = find_pii(text)
    assert [(s.kind, text[s.start : s.end]) for s in spans if s.kind == kind] == [(kind, value)]


@pytest.mark.parametrize("text", NEGATIVE)
def test_ignores_look_alikes(text):
    found = [(s.kind, text[s.start : s.end]) for s in find_pii(text)]
    assert found == []


def _rrn(birth: str, sex: str, serial: str = "12345") -> str:
    first12 = birth + sex + serial
    return f"{birth}-{sex}{serial}{rrn_check_digit(first12)}"


def test_registration_numbers_resident_foreigner_and_unchecked():
    resident = _rrn("900101", "1")
    (span,) = find_pii(f"번호 {resident}")
    assert (span.kind, span.confidence) == ("KR_RRN", 1.0)
    born_2000s = _rrn("040229", "4")  # a leap day in 2004
    assert find_pii(born_2000s)[0].kind == "KR_RRN"
    # foreigners: sex digit 5-8, check digit (13 - sum % 11) % 10
    digits = "900101" + "5" + "12345"
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (13 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 10
    assert find_pii(f"{digits[:6]}-{digits[6:]}{check}")[0].kind == "KR_FRN"
    # post-October-2020 numbers have no checksum: hyphenated, a failed check is low confidence
    wrong = resident[:-1] + str((int(resident[-1]) + 1) % 10)
    (span,) = find_pii(wrong)
    assert (span.kind, span.confidence) == ("KR_RRN", UNCHECKED_CONFIDENCE)
    assert find_pii(wrong.replace("-", "")) == []  # 13 bare digits must pass the check


def test_overlaps_go_to_the_longest_then_most_specific():
    text = "db postgres://admin:s3cret@10.0.0.5:5432/app"
    assert [s.kind for s in find_pii(text)] == ["URL_CREDENTIALS"]
    rrn = _rrn("880808", "2")
    assert [s.kind for s in find_pii(rrn.replace("-", ""))] == ["KR_RRN"]


def test_redact_uses_typed_placeholders():
    text = "Mail a@example.com or call 010-1234-5678 from 10.1.2.3."
    assert redact(text) == "Mail <EMAIL> or call <PHONE> from <IP_ADDRESS>."
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKC\n-----END RSA PRIVATE KEY-----"
    assert redact(f"key:\n{pem}\nend") == "key:\n<SECRET>\nend"


def test_checksums():
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert card_ok("4111-1111-1111-1111") and not card_ok("1111-1111-1111-1117")
    assert brn_ok("220-81-62517") and not brn_ok("220-81-62510")


def test_redactor_step_counts_kinds_and_never_drops():
    docs = [
        Document("a", "a@example.com, b@example.com, 010-1234-5678", {}),
        Document("b", "nothing personal here", {}),
    ]
    out = list(PiiRedactor().run(docs))
    assert all(d.kept for d in out)
    assert out[0].text == "<EMAIL>, <EMAIL>, <PHONE>"
    assert out[0].meta["pii"] == {"EMAIL": 2, "PHONE": 1}
    assert "pii" not in out[1].meta
    only_email = list(PiiRedactor(kinds=("EMAIL",)).run([Document("c", "x@y.org 010-1234-5678")]))
    assert only_email[0].text == "<EMAIL> 010-1234-5678"
    with pytest.raises(ValueError, match="unknown PII kind"):
        PiiRedactor(kinds=("SSN",))


LAB_KINDS = {"email": "EMAIL", "phone": "PHONE", "rrn": "KR_RRN", "card": "CREDIT_CARD"}


@pytest.mark.parametrize("world", ["tiny_lab_docs", "small_lab_docs"])
def test_every_planted_lab_pii_is_found_and_clean_docs_have_none(world, request):
    raw, truth = request.getfixturevalue(world)
    planted = 0
    for record in raw:
        found = {s.kind for s in find_pii(record["text"])}
        kinds = truth[record["id"]]["pii_kinds"]
        planted += bool(kinds)
        assert {LAB_KINDS.get(k, "IP_ADDRESS") for k in kinds} <= found, record["text"]
        if truth[record["id"]]["planted"] == "clean":
            assert not found, record["text"]
    assert planted > 0
