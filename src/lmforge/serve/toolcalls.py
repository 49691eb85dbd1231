"""Reading tool calls out of generated text: the JSON protocol of `serve.tools`, repaired.

Two shapes of reply are read:
- a forced call (`tool_choice` required or a named function): the prompt already ends with
  `{"name": "<fn>", "arguments":`, so the model writes the arguments and the closing brace.
  The arguments are the text up to that outer `}`; if the token budget cut them short, the
  open strings and brackets are closed (`{"city": "Kam` -> `{"city": "Kam"}`). Repair only
  ever *appends*, so a stream that sent the arguments as they came stays a prefix of them;
- a free reply (`tool_choice` auto): the whole reply (code fences allowed) must be one JSON
  object `{"name": ..., "arguments": {...}}`, several of them, or a list of them, naming only
  offered tools; anything else is plain text.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

_PAIRS = {"{": "}", "[": "]"}
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?```$", re.S)
TRAILING = " \t\r\n,"  # held back until more text shows they were not the end


def _scan(text: str, depth: int = 0):
    """Walk `text` as JSON; yields (index, stack after the char) for every structural char."""
    stack: list[str] = ["{"] * depth
    in_string = escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in _PAIRS:
            stack.append(char)
        elif char in "}]":
            if not stack or _PAIRS[stack[-1]] != char:
                yield i, None  # a closer that closes nothing: not JSON
                return
            stack.pop()
            yield i, stack
    yield len(text), (stack, in_string, escaped)


def json_close(text: str, depth: int) -> int | None:
    """Index of the character that closes the `depth` objects open before `text`, if any."""
    for i, state in _scan(text, depth):
        if state is None:
            return i
        if isinstance(state, list) and len(state) == 0:
            return i
    return None


def closers(text: str) -> str | None:
    """What to append so the open strings and brackets of `text` are closed; None if broken."""
    for _i, state in _scan(text):
        if state is None:
            return None
        if isinstance(state, tuple):
            stack, in_string, escaped = state
            if escaped:
                return None
            return ('"' if in_string else "") + "".join(_PAIRS[c] for c in reversed(stack))
    return ""


def arguments_text(generated: str) -> str:
    """The arguments a forced call wrote: up to the call's closing brace, trimmed."""
    end = json_close(generated, 1)
    return generated[:end].lstrip().rstrip(TRAILING) if end is not None else (
        generated.lstrip().rstrip(TRAILING))  # fmt: skip


def complete_arguments(visible: str) -> tuple[str, bool]:
    """(arguments, valid): `visible` with closers appended when that makes a JSON object."""
    tail = closers(visible)
    if tail is not None:
        # a value cut off right after its key's colon gets `null`, so the key survives
        middle = " null" if visible.endswith(":") else ""
        if _is_object(visible + middle + tail):
            return visible + middle + tail, True
    return visible, False


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


class ArgumentStream:
    """Turns the pieces of a forced call's reply into argument deltas that add up exactly to
    `complete_arguments(arguments_text(reply))`."""

    def __init__(self) -> None:
        self.text, self.sent = "", ""

    def feed(self, piece: str) -> str:
        self.text += piece
        visible = arguments_text(self.text)
        return self._advance(visible)

    def end(self) -> tuple[str, str, bool]:
        """(last delta, whole arguments, valid)."""
        arguments, valid = complete_arguments(arguments_text(self.text))
        return self._advance(arguments), arguments, valid

    def _advance(self, visible: str) -> str:
        if not visible.startswith(self.sent):  # cannot happen: repair only appends
            return ""
        delta, self.sent = visible[len(self.sent) :], visible
        return delta


def parse_free_reply(text: str, names: set[str]) -> list[dict[str, Any]] | None:
    """The calls of an auto-mode reply as [{"name", "arguments"}], or None if it is text."""
    body = text.strip()
    fenced = _FENCE.match(body)
    body = fenced.group(1).strip() if fenced else body
    if not body or body[0] not in "{[":
        return None
    values = _json_values(body)
    if values is None:
        tail = closers(body)
        values = _json_values(body + tail) if tail else None
    if values is None:
        return None
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    calls = [_call(v, names) for v in values]
    return None if not calls or any(c is None for c in calls) else calls


def _json_values(body: str) -> list[Any] | None:
    """The JSON values written one after another in `body`, or None if it is not that."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(body):
        try:
            value, at = decoder.raw_decode(body, at)
        except json.JSONDecodeError:
            return None
        values.append(value)
        while at < len(body) and body[at] in " \t\r\n,":
            at += 1
    return values


def _call(value: Any, names: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, dict) or value.get("name") not in names:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return {"name": value["name"], "arguments": json.dumps(arguments, ensure_ascii=False)}


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def tool_call(name: str, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    """One entry of a message's `tool_calls`, in OpenAI's format."""
    return {"id": call_id or new_call_id(), "type": "function",
            "function": {"name": name, "arguments": arguments}}  # fmt: skip
