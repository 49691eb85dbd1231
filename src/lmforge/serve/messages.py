"""A chat request's messages as the chat template receives them.

- Content given as a list of parts is joined from its text parts; `developer` is `system`.
- The system message is built from, in order: the registry template named by the request's
  `prompt` (lmforge's extension), the request's own leading system message, and the tools
  section of `serve.tools` — joined by blank lines. Without either extra the messages are
  passed through unchanged, so the prompt equals `lmforge chat`'s.
- An assistant turn's `tool_calls` are written after its text, one
  `{"name": ..., "arguments": {...}}` line per call: the very form the model is asked to write.
- A `tool` turn becomes a `user` turn reading `Tool <name> (<call id>) returned:\\n<content>`
  (consecutive results share one turn), because most chat templates, lmforge's included,
  know no `tool` role.
"""

from __future__ import annotations

import json

from lmforge.serve.errors import APIError
from lmforge.serve.schemas import Message
from lmforge.serve.tools import ToolPlan, call_json, tools_section


def plain(message: Message, index: int = 0) -> dict:
    """A message without tool calls as {"role", "content"}."""
    content = message.content
    if isinstance(content, list):
        if any(part.type != "text" for part in content):
            raise APIError(400, "Only text content parts are supported.",
                           f"messages.{index}.content")  # fmt: skip
        content = "".join(part.text or "" for part in content)
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "content": content or ""}


def template_messages(
    messages: list[Message], plan: ToolPlan | None = None, preamble: str | None = None
) -> list[dict]:
    """What `apply_chat_template` gets for `messages`, the tools of `plan` and a `preamble`."""
    names: dict[str, str] = {}  # call id -> function name, from earlier assistant turns
    out: list[dict] = []
    for i, message in enumerate(messages):
        if message.role == "tool":
            _add_result(out, message, i, names)
            continue
        turn = plain(message, i)
        if message.tool_calls:
            if message.role != "assistant":
                raise APIError(400, "Only assistant messages carry `tool_calls`.",
                               f"messages.{i}.tool_calls")  # fmt: skip
            lines = [turn["content"]] if turn["content"] else []
            for call in message.tool_calls:
                names[call.id] = call.function.name
                lines.append(call_json(call.function.name, _arguments(call.function.arguments)))
            turn["content"] = "\n".join(lines)
        out.append(turn)
    return _with_system(out, [preamble or "", tools_section(plan) if plan else ""])


def _add_result(out: list[dict], message: Message, index: int, names: dict[str, str]) -> None:
    if not message.tool_call_id:
        raise APIError(400, "A `tool` message needs the `tool_call_id` it answers.",
                       f"messages.{index}.tool_call_id")  # fmt: skip
    call = message.tool_call_id
    text = f"Tool {names.get(call, message.name or 'call')} ({call}) returned:\n"
    text += plain(message, index)["content"]
    if out and out[-1].get("tool_results"):
        out[-1]["content"] += "\n\n" + text
    else:
        out.append({"role": "user", "content": text, "tool_results": True})


def _arguments(text: str):
    """Arguments as a JSON value when they are JSON (so the history reads like a reply)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _with_system(messages: list[dict], extras: list[str]) -> list[dict]:
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    preamble, tools = extras
    if not preamble and not tools:
        return messages
    parts = [preamble]
    if messages and messages[0]["role"] == "system":
        parts.append(messages.pop(0)["content"])
    parts.append(tools)
    return [{"role": "system", "content": "\n\n".join(p for p in parts if p)}, *messages]
