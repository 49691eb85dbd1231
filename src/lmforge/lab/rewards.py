"""Rule-based rewards for online RL on the lab world (`lmforge align --reward-fn lab.arithmetic`).

A reward function has the signature `fn(prompt, completion, answer) -> float`: `prompt` is the
text of the last user message, `completion` the model's reply, `answer` the record's reference
answer (or None). `arithmetic` is DeepSeekMath-style outcome supervision: 1.0 when the final
number of the reply equals the answer, else 0.0 — the lab's arithmetic records
(`arith/train.jsonl`: `{"question", "answer", ...}`) carry the answers.

"Final number": the first number after the last answer marker ("Answer:", "the answer is",
"답:", "정답은", ...), else the last number in the reply. Numbers may have thousands
separators (`5,555`), a sign (`-12`, `−12`), decimals, full-width digits (`５５５５`) and
Korean suffixes (`5555입니다`, `5555이다`).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# a sign only where it is not a binary minus ("10-3" is not "-3"); "1,234" but not "1,23"
_NUMBER = re.compile(r"(?:(?<![0-9A-Za-z.])[-+])?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_MARKERS = re.compile(
    r"answer\s*(?:is|:|=)|result\s*(?:is|:)|정답\s*[:은는]|답\s*[:은는]|결과\s*[:은는]|=",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    # full-width digits and signs → ASCII; the Unicode minus sign → "-"
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-")


def parse_number(text: str) -> Decimal | None:
    """The final number of `text` (see module docstring), or None if it holds none."""
    text = _normalise(text or "")
    markers = list(_MARKERS.finditer(text))
    if markers:
        after = _NUMBER.search(text, markers[-1].end())
        if after is not None:
            return _decimal(after.group())
    numbers = _NUMBER.findall(text)
    return _decimal(numbers[-1]) if numbers else None


def _decimal(token: str) -> Decimal | None:
    try:
        return Decimal(token.replace(",", ""))
    except InvalidOperation:
        return None


def arithmetic(prompt: str, completion: str, answer: str | None) -> float:
    """1.0 if the reply's final number equals the answer's, else 0.0 (English and Korean)."""
    expected = parse_number(str(answer)) if answer is not None else None
    got = parse_number(completion)
    return float(expected is not None and got is not None and got == expected)


arithmetic.needs_answer = True  # every prompt record must carry an "answer"

REWARD_FUNCTIONS = {"lab.arithmetic": arithmetic}
