"""Reading an answer out of a reply, and normalising answers so votes can be counted.

`direct` replies are the answer itself (first line, or the last integer for numeric tasks),
using `lmforge.eval.scoring`'s rules. Reasoning replies must state it after a marker ("the
answer is", "Answer:", "답:"); a reply without one is unparsed (None), never guessed.
"""

from __future__ import annotations

import re

from lmforge.eval.scoring import answer_text, last_integer, normalize_answer

MARKER = re.compile(r"(?:the answer is|answer:|답:|답은)\s*", re.IGNORECASE)


def parse_direct(reply: str, match: str = "exact") -> str | None:
    """The answer a direct reply gives, or None when there is none."""
    text = answer_text(reply, match)
    if match == "numeric":
        value = last_integer(text)
        return None if value is None else str(value)
    text = text.strip().rstrip(".").strip()
    return text or None


def parse_extracted(reply: str, match: str = "exact") -> str | None:
    """The answer of an answer-extraction reply ("Therefore, the answer is" ...): its start."""
    text = answer_text(reply, match)
    if match == "numeric":
        first = re.search(r"-?\d[\d,]*", text)
        return None if first is None else str(last_integer(first.group()))
    return parse_direct(text, match)


def parse_marked(reply: str, match: str = "exact") -> str | None:
    """The answer after the last answer marker of a reasoning reply, or None."""
    found = list(MARKER.finditer(reply))
    if not found:
        return None
    rest = reply[found[-1].end() :]
    if match == "numeric":
        first = re.search(r"-?\d[\d,]*", rest)
        return None if first is None else str(last_integer(first.group()))
    return parse_direct(rest, match)


def normalize(answer: str, match: str = "exact") -> str:
    """The form under which two answers count as the same vote."""
    if match == "numeric":
        value = last_integer(answer)
        return answer.strip() if value is None else str(value)
    return normalize_answer(answer)
