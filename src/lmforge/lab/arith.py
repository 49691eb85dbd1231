"""Arithmetic: 2-4 digit addition and subtraction, with column-by-column scratchpads, and
4-digit problems answered through an inline calculator call (tool-use SFT data).

A scratchpad walks the columns from the ones, writing each digit and the carry (addition) or
borrow (subtraction), in the question's language, and ends with "Answer: N" / "답: N".
Test problems are drawn first and never reappear in training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from lmforge.lab.names import josa
from lmforge.lab.rng import rng_for

DIGITS = (2, 3, 4)
OPS = ("add", "sub")
CANARY = (1234, "add", 4321)  # always in the test set: the classic carry-free 4-digit sum

_COLUMNS = {
    "en": ("ones", "tens", "hundreds", "thousands"),
    "ko": ("일의 자리", "십의 자리", "백의 자리", "천의 자리"),
}
_SIGN = {"add": "+", "sub": "-"}
TOOL_ARROW = "→"  # what `lmforge.agents` writes between an inline call and its result


@dataclass(frozen=True)
class Problem:
    a: int
    op: str
    b: int
    digits: int

    @property
    def answer(self) -> int:
        return self.a + self.b if self.op == "add" else self.a - self.b

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.a, self.op, self.b)


def question(p: Problem, lang: str) -> str:
    expr = expression(p)
    return f"What is {expr}?" if lang == "en" else f"{josa(expr, '은/는')} 얼마인가요?"


def final_line(answer: int, lang: str) -> str:
    return f"Answer: {answer}" if lang == "en" else f"답: {answer}"


def scratchpad(p: Problem, lang: str) -> str:
    """Column-by-column working that ends with the final answer line."""
    lines = [_intro(p.op, lang)]
    carry = 0
    for col in range(p.digits):
        x, y = p.a // 10**col % 10, p.b // 10**col % 10
        step = _add_step if p.op == "add" else _sub_step
        line, carry = step(x, y, carry, _COLUMNS[lang][col], lang)
        lines.append(line)
    if p.op == "add" and carry:
        last = "Write the last carry 1 in front." if lang == "en" else "남은 올림 1을 맨 앞에 쓴다."
        lines.append(last)
    if p.op == "sub" and len(str(p.answer)) < p.digits:
        lines.append("Drop the leading zeros." if lang == "en" else "앞의 0은 지운다.")
    lines.append(final_line(p.answer, lang))
    return "\n".join(lines)


def _intro(op: str, lang: str) -> str:
    if lang == "en":
        verb = "Add" if op == "add" else "Subtract"
        return f"{verb} column by column, starting from the ones."
    verb = "더한다" if op == "add" else "뺀다"
    return f"일의 자리부터 한 자리씩 {verb}."


def _add_step(x: int, y: int, carry: int, col: str, lang: str) -> tuple[str, int]:
    total = x + y + carry
    digit, out = total % 10, total // 10
    if lang == "en":
        return f"{col}: {x} + {y} + {carry} = {total}, write {digit}, carry {out}", out
    return f"{col}: {x} + {y} + {carry} = {total}, {josa(str(digit), '을/를')} 쓰고 올림 {out}", out


def _sub_step(x: int, y: int, borrow: int, col: str, lang: str) -> tuple[str, int]:
    value = x - y - borrow
    expr = f"{x} - {y} - {borrow}"
    head, out = f"{expr} = {value}", 0
    if value < 0:
        value, out = value + 10, 1
        if lang == "en":
            head = f"{expr} is negative, borrow 10: 1{x} - {y} - {borrow} = {value}"
        else:
            head = f"{josa(expr, '은/는')} 음수이므로 10을 빌려 1{x} - {y} - {borrow} = {value}"
    if lang == "en":
        return f"{col}: {head}, write {value}, borrow {out}", out
    return f"{col}: {head}, {josa(str(value), '을/를')} 쓰고 내림 {out}", out


def problems(seed: int, n_train: int, n_test: int) -> tuple[list[Problem], list[Problem]]:
    """Training and test problems; the test set (with the canary) is drawn first."""
    rng = rng_for(seed, "arith")
    test = [Problem(*CANARY, digits=4)]
    seen = {test[0].key}
    test += _draw(rng, n_test - 1, seen)
    return _draw(rng, n_train, seen), test[:n_test]


def tool_problems(seed: int, n: int, test: list[Problem]) -> list[Problem]:
    """`n` 4-digit problems for the tool-use chats, from their own stream, never a test one."""
    return _draw(rng_for(seed, "arith_tools"), n, {p.key for p in test}, digits=(4,))


def _draw(
    rng: random.Random, n: int, seen: set[tuple[int, str, int]], digits: tuple[int, ...] = DIGITS
) -> list[Problem]:
    out: list[Problem] = []
    while len(out) < n:
        size, op = rng.choice(digits), rng.choice(OPS)
        a, b = (rng.randrange(10 ** (size - 1), 10**size) for _ in range(2))
        if op == "sub" and a < b:
            a, b = b, a  # answers stay non-negative
        p = Problem(a, op, b, size)
        if p.key not in seen:
            seen.add(p.key)
            out.append(p)
    return out


def arith_records(items: list[Problem], langs: tuple[str, ...], prefix: str) -> list[dict]:
    """arith/*.jsonl records; languages take turns."""
    out = []
    for n, p in enumerate(items):
        lang = langs[n % len(langs)]
        out.append(
            {
                "id": f"{prefix}-{n:06d}",
                "lang": lang,
                "question": question(p, lang),
                "answer": str(p.answer),
                "scratchpad": scratchpad(p, lang),
                "meta": {"op": p.op, "digits": p.digits},
            }
        )
    return out


def sft_arith_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chats from arith records: every other one answers with the scratchpad."""
    out = []
    for n, r in enumerate(records):
        with_pad = n % 2 == 0
        messages = [
            {"role": "user", "content": r["question"]},
            {"role": "assistant", "content": r["scratchpad"] if with_pad else r["answer"]},
        ]
        meta = {"kind": "arith_scratchpad" if with_pad else "arith", **r["meta"]}
        out.append(
            {"id": f"sft-arith-{n:06d}", "lang": r["lang"], "messages": messages, "meta": meta}
        )
    return out


def tool_call_text(p: Problem) -> str:
    """An inline calculator call with its result filled in, as `lmforge.agents` writes it:
    `[calculator( 1234 + 4321) → 5555]`. The space after "(" makes the expression the very
    tokens of the question (" 1234" is one pre-token, "1234" after "(" another), so a small
    model copies it by matching tokens instead of re-spelling the number."""
    return f"[calculator( {expression(p)}) {TOOL_ARROW} {p.answer}]"


def expression(p: Problem) -> str:
    return f"{p.a} {_SIGN[p.op]} {p.b}"


def sft_tool_records(items: list[Problem], langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Chats answering each problem with an inline calculator call (Toolformer-style, the text
    protocol of `lmforge.agents`): the reply is the call with its result, which the agent
    inserts; the model then ends its turn.

    Languages take turns, so EN and KO are balanced. Replies are short so that two chats pack
    into one 128-token training row. Many different numbers, each seen a few times, are what
    make a small model learn to copy the operands rather than memorize the chats.
    """
    out = []
    for k, p in enumerate(items):
        lang = langs[k % len(langs)]
        messages = [
            {"role": "user", "content": question(p, lang)},
            {"role": "assistant", "content": tool_call_text(p)},
        ]
        meta = {"kind": "tool_calculator", "op": p.op, "digits": p.digits,
                "expression": expression(p), "result": str(p.answer)}  # fmt: skip
        out.append({"id": f"sft-tool-{k:06d}", "lang": lang, "messages": messages, "meta": meta})
    return out


def arith_prefs(seed: int, records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Preference pairs: the right sum or difference against a typical slip (a lost carry)."""
    rng = rng_for(seed, "arith_prefs")
    out = []
    for k, r in enumerate(records[:n]):
        answer = int(r["answer"])
        wrong = answer + rng.choice((-1, 1)) * 10 ** rng.randrange(r["meta"]["digits"])
        if wrong < 0:
            wrong = answer + 10
        out.append(
            {
                "id": f"pref-arith-{k:06d}",
                "lang": r["lang"],
                "prompt": [{"role": "user", "content": r["question"]}],
                "chosen": r["answer"],
                "rejected": str(wrong),
                "meta": {"kind": "arith", **r["meta"]},
            }
        )
    return out
