"""How a model asks for a tool, in the three forms models actually use.

- native: OpenAI-style `tool_calls` in the backend's reply (`native_calls(completion)`), for
  backends with the "tools" capability;
- ReAct text: `Thought:` / `Action: name {json}` (or `name[args]`, `name(args)`, or an
  `Action Input:` line) / `Final Answer:` (`parse_react`);
- Toolformer inline calls inside running text: `[calculator(1234+4321)]`
  (`find_inline_calls`, `call_at_end`).

Parsing is lenient with what models write (markdown bold, code fences, Python-style dicts,
invented `Observation:` lines) and never raises: what cannot be read comes back as an error
that the loop hands to the model as an observation. Only the model's own new text is parsed,
never tool results, so a document that says "call tool X" cannot become a call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lmforge.agents.tools import ToolCall
from lmforge.infer.backends.base import Completion

# a label at the start of a line, allowing markdown decoration: "**Action:**", "> Thought:"
_LABEL = re.compile(
    r"^[ \t>*_#-]*(thought|action input|action|final answer|observation)[ \t*_]*:[ \t*_]*",
    re.I | re.M,
)
_INLINE = re.compile(r"\[(\w+)\(")
_QUOTES = "\"'"


@dataclass
class ReactStep:
    """One parsed ReAct reply: the thought, and either a call, an answer or an error."""

    thought: str
    call: ToolCall | None = None
    answer: str | None = None
    error: str | None = None


def parse_react(text: str) -> ReactStep:
    """A ReAct reply (the text after the prompt's last `Thought:`)."""
    sections = _sections(text)
    thought = " ".join(body for label, body in sections if label == "thought" and body).strip()
    for i, (label, body) in enumerate(sections):
        if label == "final answer":
            return ReactStep(thought, answer=body.strip()) if body.strip() else _no_step(thought)
        if label == "action":
            following = sections[i + 1] if i + 1 < len(sections) else ("", "")
            given = following[1] if following[0] == "action input" else None
            return _action(thought, body, given)
    return _no_step(thought)


def _sections(text: str) -> list[tuple[str, str]]:
    """(label, body) pairs; text before any label is thought; stops at an invented Observation."""
    marks = list(_LABEL.finditer(text))
    sections = [("thought", text[: marks[0].start()] if marks else text)]
    ends = [m.start() for m in marks[1:]] + [len(text)] if marks else []
    for mark, end in zip(marks, ends, strict=True):
        label = mark.group(1).lower()
        if label == "observation":  # the model wrote the tool's answer itself: ignore the rest
            break
        sections.append((label, text[mark.end() : end]))
    return [(label, body.strip()) for label, body in sections]


def _action(thought: str, body: str, given_input: str | None) -> ReactStep:
    match = re.match(r"`?([A-Za-z_][\w.-]*)`?[ \t]*(.*)$", body, flags=re.S)
    if not match:
        return ReactStep(
            thought, error=f"the Action line {body[:80]!r} does not start with a tool name."
        )
    name, rest = match.group(1), match.group(2).strip()
    if given_input is not None and not rest:
        rest = given_input
    elif len(rest) >= 2 and (rest[0], rest[-1]) in (("[", "]"), ("(", ")")):
        rest = rest[1:-1]
    return ReactStep(thought, call=ToolCall(name, args_text=rest))


def _no_step(thought: str) -> ReactStep:
    return ReactStep(
        thought,
        error="the reply has neither an 'Action:' line nor a 'Final Answer:' line. "
        'Write "Action: tool_name {json arguments}" or "Final Answer: ...".',
    )


def find_inline_calls(text: str) -> list[tuple[int, int, ToolCall]]:
    """Complete `[name(args)]` calls in `text`: (start, end, call), skipping answered ones."""
    found = []
    for match in _INLINE.finditer(text):
        close = _closing_paren(text, match.end())
        if close < 0:
            continue
        rest = text[close + 1 :].lstrip()
        if rest.startswith("]"):
            end = close + 1 + text[close + 1 :].index("]") + 1
            found.append((match.start(), end, _inline_call(match, text, close)))
    return found


def call_at_end(text: str) -> ToolCall | None:
    """A call that `text` ends with, left open for its result: `... [calculator(2+2)` or
    `[calculator(2+2) ->` (what generation stopped at "]" or "→" leaves)."""
    for match in reversed(list(_INLINE.finditer(text))):
        close = _closing_paren(text, match.end())
        if close < 0:
            return None
        if re.fullmatch(r"\s*(→|->)?\s*", text[close + 1 :]):
            return _inline_call(match, text, close)
        return None
    return None


def _inline_call(match: re.Match, text: str, close: int) -> ToolCall:
    return ToolCall(match.group(1), args_text=text[match.end() : close])


def _closing_paren(text: str, start: int) -> int:
    """Index of the `)` closing the `(` just before `start`, skipping quoted text; -1 if none."""
    depth, quote, i = 1, None, start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def native_calls(completion: Completion) -> list[ToolCall]:
    """The `tool_calls` of an OpenAI-style reply; unreadable arguments become call errors."""
    calls = []
    for raw in _message(completion).get("tool_calls") or []:
        function = raw.get("function") or {}
        name, arguments = str(function.get("name") or ""), function.get("arguments")
        call = ToolCall(name, id=raw.get("id"))
        if isinstance(arguments, dict):
            call.arguments = arguments
        else:
            try:
                call.arguments = json.loads(arguments or "{}")
            except (json.JSONDecodeError, TypeError) as e:
                call.error = f"the arguments {str(arguments)[:200]!r} are not valid JSON ({e})"
            if call.arguments is not None and not isinstance(call.arguments, dict):
                call.arguments, call.error = None, "the arguments are not a JSON object"
        if not name:
            call.error = "the tool call has no function name"
        calls.append(call)
    return calls


def assistant_message(completion: Completion) -> dict[str, Any]:
    """The assistant turn to send back with the tool results (its tool_calls kept as is)."""
    message = {"role": "assistant", "content": completion.text or None}
    tool_calls = _message(completion).get("tool_calls")
    return {**message, "tool_calls": tool_calls} if tool_calls else message


def _message(completion: Completion) -> dict[str, Any]:
    raw = completion.raw
    try:
        message = raw["choices"][0]["message"]
    except (TypeError, KeyError, IndexError):
        return {}
    return message if isinstance(message, dict) else {}
