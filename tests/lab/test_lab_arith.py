"""Arithmetic data: right answers, scratchpads that end in them, no test leakage."""

from __future__ import annotations

import re

from lab_helpers import read

from lmforge.lab.arith import Problem, scratchpad

QUESTION = re.compile(r"^(?:What is )?(\d+) ([+-]) (\d+)(?:\?|[은는] 얼마인가요\?)$")


def _solve(question: str) -> tuple[int, int, str, int]:
    match = QUESTION.match(question)
    assert match, question
    a, sign, b = int(match[1]), match[2], int(match[3])
    return a, b, sign, a + b if sign == "+" else a - b


def test_answers_and_scratchpads_are_right(small_lab):
    for name in ("arith/train.jsonl", "arith/test.jsonl"):
        for r in read(small_lab / name):
            a, _, sign, expected = _solve(r["question"])
            assert r["answer"] == str(expected)
            assert r["meta"]["op"] == ("add" if sign == "+" else "sub")
            assert r["meta"]["digits"] in (2, 3, 4) and len(str(a)) == r["meta"]["digits"]
            final = "Answer: " if r["lang"] == "en" else "답: "
            assert r["scratchpad"].split("\n")[-1] == f"{final}{expected}"


def test_scratchpad_digits_spell_the_answer():
    written = {"en": re.compile(r", write (\d),"), "ko": re.compile(r", (\d)[을를] 쓰고 ")}
    for a, op, b in [(987, "add", 45), (1002, "sub", 998), (5555, "add", 4445), (91, "sub", 19)]:
        p = Problem(a, op, b, len(str(a)))
        for lang in ("en", "ko"):
            text = scratchpad(p, lang)
            digits = "".join(written[lang].findall(text))[::-1]
            assert len(digits) == p.digits
            carried = "1" if op == "add" and p.answer >= 10**p.digits else ""
            assert int(carried + digits) == p.answer, (a, op, b, lang)
            assert text.endswith(f": {p.answer}")


def test_test_set_has_four_digit_sums_and_no_overlap(small_lab):
    train = {r["question"] for r in read(small_lab / "arith/train.jsonl")}
    test = read(small_lab / "arith/test.jsonl")
    assert not train & {r["question"] for r in test}
    assert any(r["question"] == "What is 1234 + 4321?" and r["answer"] == "5555" for r in test)
    sums4 = [r for r in test if r["meta"] == {"op": "add", "digits": 4}]
    assert len(sums4) >= 10


def test_sft_arith_is_half_scratchpad(small_lab):
    records = read(small_lab / "sft/arith.jsonl")
    kinds = [r["meta"]["kind"] for r in records]
    assert abs(kinds.count("arith_scratchpad") - kinds.count("arith")) <= 1
    for r in records:
        _, _, _, expected = _solve(r["messages"][0]["content"])
        reply = r["messages"][1]["content"]
        if r["meta"]["kind"] == "arith":
            assert reply == str(expected)
        else:
            assert reply.endswith(f": {expected}") and "\n" in reply
            assert ("답:" in reply) == (r["lang"] == "ko")
