"""The raw crawl's planted noise: the truth file, duplicates, boilerplate, junk and PII."""

from __future__ import annotations

import re
from collections import Counter

from lab_helpers import raw_docs, read

from lmforge.lab.noise import BOILERPLATE

CATEGORIES = {"clean", "exact_dup", "near_dup", "boilerplate", "junk", "pii"}
CARD = re.compile(r"\b4\d{3}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b")
RRN = re.compile(r"\b(\d{6})-(\d{7})\b")


def _luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _rrn_ok(front: str, back: str) -> bool:
    digits = [int(c) for c in front + back]
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    check = (11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11) % 10
    month, day = int(front[2:4]), int(front[4:6])
    return check == digits[12] and 1 <= month <= 12 and 1 <= day <= 31


def test_validators_themselves():
    assert _luhn_ok("4539 1488 0343 6467") and not _luhn_ok("4539 1488 0343 6468")
    assert _rrn_ok("900101", "1234568") and not _rrn_ok("900101", "1234567")


def _joined(out):
    truth = read(out / "raw_truth.jsonl")
    docs = raw_docs(out)
    return docs, truth, {d["id"]: d for d in docs}


def test_truth_has_one_line_per_doc_and_every_category(tiny_lab, small_lab):
    for out in (tiny_lab, small_lab):
        docs, truth, _ = _joined(out)
        assert [t["id"] for t in truth] == [d["id"] for d in docs]
        assert {t["planted"] for t in truth} == CATEGORIES
        for t in truth:
            assert set(t) == {"id", "planted", "of", "pii_kinds"}
            assert (t["of"] is not None) == (t["planted"] in ("exact_dup", "near_dup"))
            assert bool(t["pii_kinds"]) == (t["planted"] == "pii")


def test_noise_is_about_a_quarter_of_small(small_lab):
    counts = Counter(t["planted"] for t in read(small_lab / "raw_truth.jsonl"))
    share = 1 - counts["clean"] / sum(counts.values())
    assert 0.2 <= share <= 0.3
    assert min(counts.values()) >= 10


def test_duplicates_copy_an_earlier_clean_doc(small_lab):
    docs, truth, by_id = _joined(small_lab)
    planted = {t["id"]: t["planted"] for t in truth}
    position = {d["id"]: i for i, d in enumerate(docs)}
    for t in truth:
        if t["of"] is None:
            continue
        original, copy = by_id[t["of"]]["text"], by_id[t["id"]]["text"]
        assert planted[t["of"]] == "clean"
        assert position[t["of"]] < position[t["id"]]
        if t["planted"] == "exact_dup":
            assert copy == original
        else:
            assert copy != original
            a, b = Counter(original.split()), Counter(copy.split())
            changed = sum((a - b).values()) + sum((b - a).values())
            assert 1 <= changed <= 12


def test_boilerplate_and_junk_look_like_it(small_lab):
    _, truth, by_id = _joined(small_lab)
    chrome = {line for lang in BOILERPLATE.values() for lines in lang.values() for line in lines}
    kinds = Counter()
    for t in truth:
        text = by_id[t["id"]]["text"]
        if t["planted"] == "boilerplate":
            lines = set(text.split("\n"))
            assert lines & chrome
            kinds["page" if lines <= chrome else "added"] += 1
        if t["planted"] == "junk":
            lines = text.split("\n")
            if len(lines) > 5 and len(set(lines)) == 1:
                kinds["repeat"] += 1
            elif text.startswith("Lorem ipsum"):
                kinds["lorem"] += 1
            elif len(text) < 20:
                kinds["fragment"] += 1
            elif any(s in text for s in ("buy cheap", "최저가", "best price", "지금 구매")):
                kinds["spam"] += 1
            else:
                kinds["soup"] += 1
    assert set(kinds) == {"page", "added", "repeat", "lorem", "fragment", "spam", "soup"}
    korean_boilerplate = [
        by_id[t["id"]]["text"]
        for t in truth
        if t["planted"] == "boilerplate" and by_id[t["id"]]["meta"]["lang"] == "ko"
    ]
    assert any("홈 | 소개 | 문의" in text or "쿠키" in text for text in korean_boilerplate)


def test_pii_is_valid_and_of_every_kind(small_lab):
    docs, truth, by_id = _joined(small_lab)
    seen = Counter()
    for t in truth:
        text = by_id[t["id"]]["text"]
        for kind in t["pii_kinds"]:
            seen[kind] += 1
        if "card" in t["pii_kinds"]:
            cards = CARD.findall(text)
            assert cards and all(_luhn_ok(c) for c in cards)
        if "rrn" in t["pii_kinds"]:
            found = RRN.findall(text)
            assert found and all(_rrn_ok(*f) for f in found)
        if "email" in t["pii_kinds"]:
            assert re.search(r"[\w.]+@[\w.]+\.\w+", text)
        if "ipv4" in t["pii_kinds"]:
            assert re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text)
        if "phone" in t["pii_kinds"]:
            assert re.search(r"010-\d{4}-\d{4}|\+82 10-|\(555\)|\+1 555-", text)
        if t["planted"] == "clean":
            assert "@" not in text and not CARD.search(text) and not RRN.search(text)
    assert set(seen) == {"email", "phone", "rrn", "card", "ipv4"}
    phones = " ".join(d["text"] for d in docs if d["meta"]["lang"] == "ko")
    assert re.search(r"\b010-\d{4}-\d{4}\b", phones) and "+82 10-" in phones
