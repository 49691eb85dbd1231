"""How one chat choice turns into an assistant message, whole or as stream deltas.

Each choice of a chat request gets a reply object for its kind of answer:
- `TextReply`: plain text (no tools, or `tool_choice: none`), streamed as it comes;
- `ForcedReply` (`tool_choice` required or named): one call to a known function. The stream
  opens with the call's id and name, then sends the arguments as the model writes them;
  the deltas add up to the final `arguments`. Arguments that parse (after closing what the
  token budget cut off) end with `finish_reason: "tool_calls"`; ones that never parse are
  still returned as the call's `arguments` text (OpenAI's own calls may be invalid JSON),
  and the finish reason stays the generation's own (`stop`/`length`) to say so;
- `FreeReply` (`tool_choice: auto`): a reply starting with `{`, `[` or a code fence is held
  back until it is complete, then sent as `tool_calls` if it reads as calls of offered tools,
  else as the text it is; any other reply streams as text.
`pick_function` chooses the function for `required` by log-likelihood.
"""

from __future__ import annotations

from typing import Any

from lmforge.eval.scoring import encode_pair
from lmforge.serve.engine import Job, Output
from lmforge.serve.model import Row
from lmforge.serve.state import Served
from lmforge.serve.toolcalls import (
    ArgumentStream,
    arguments_text,
    complete_arguments,
    new_call_id,
    parse_free_reply,
    tool_call,
)
from lmforge.serve.tools import ToolPlan, call_json

Delta = dict[str, Any]


class TextReply:
    def opening(self) -> Delta:
        return {"role": "assistant", "content": ""}

    def delta(self, piece: str) -> list[Delta]:
        return [{"content": piece}]

    def finish(self, out: Output) -> tuple[list[Delta], str, dict]:
        return [], out.finish_reason, self.message(out)[0]

    def message(self, out: Output) -> tuple[dict, str]:
        return {"role": "assistant", "content": out.text, "refusal": None}, out.finish_reason


class ForcedReply:
    def __init__(self, name: str) -> None:
        self.name, self.id, self.arguments = name, new_call_id(), ArgumentStream()

    def opening(self) -> Delta:
        call = {"index": 0, **tool_call(self.name, "", self.id)}
        return {"role": "assistant", "content": None, "tool_calls": [call]}

    def delta(self, piece: str) -> list[Delta]:
        return self._arguments(self.arguments.feed(piece))

    def finish(self, out: Output) -> tuple[list[Delta], str, dict]:
        last, arguments, valid = self.arguments.end()
        return self._arguments(last), self._reason(out, valid), self._message(arguments)

    def message(self, out: Output) -> tuple[dict, str]:
        arguments, valid = complete_arguments(arguments_text(out.text))
        return self._message(arguments), self._reason(out, valid)

    def _arguments(self, text: str) -> list[Delta]:
        return [{"tool_calls": [{"index": 0, "function": {"arguments": text}}]}] if text else []

    def _message(self, arguments: str) -> dict:
        return {"role": "assistant", "content": None, "refusal": None,
                "tool_calls": [tool_call(self.name, arguments, self.id)]}  # fmt: skip

    @staticmethod
    def _reason(out: Output, valid: bool) -> str:
        return "tool_calls" if valid else out.finish_reason


class FreeReply:
    def __init__(self, plan: ToolPlan) -> None:
        self.names, self.parallel = set(plan.names), plan.parallel
        self.seen, self.held = "", None  # held: None undecided, True buffering, False text

    def opening(self) -> Delta:
        return {"role": "assistant", "content": ""}

    def delta(self, piece: str) -> list[Delta]:
        self.seen += piece
        if self.held is None:
            start = self.seen.lstrip()
            if not start:
                return []
            self.held = start[0] in "{[`"
            return [] if self.held else [{"content": self.seen}]
        return [] if self.held else [{"content": piece}]

    def finish(self, out: Output) -> tuple[list[Delta], str, dict]:
        message, reason = self.message(out)
        if message.get("tool_calls"):
            calls = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
            return [{"content": None, "tool_calls": calls}], reason, message
        rest = out.text if self.held is not False else out.text[len(self.seen) :]
        return ([{"content": rest}] if rest else []), reason, message

    def message(self, out: Output) -> tuple[dict, str]:
        calls = parse_free_reply(out.text, self.names)
        if not calls:
            return {"role": "assistant", "content": out.text, "refusal": None}, out.finish_reason
        calls = calls if self.parallel else calls[:1]
        tool_calls = [tool_call(c["name"], c["arguments"]) for c in calls]
        return {"role": "assistant", "content": None, "refusal": None,
                "tool_calls": tool_calls}, "tool_calls"  # fmt: skip


def replies(plan: ToolPlan, forced: str | None, n: int) -> list:
    """One reply object per choice."""
    if forced:
        return [ForcedReply(forced) for _ in range(n)]
    if plan.mode == "auto":
        return [FreeReply(plan) for _ in range(n)]
    return [TextReply() for _ in range(n)]


async def pick_function(state: Served, text: str, names: list[str]) -> str:
    """The function whose call the model finds likeliest after the prompt `text`."""
    if len(names) == 1:
        return names[0]
    rows, lengths = [], []
    for name in names:
        start = call_json(name, None).split(", ")[0]  # '{"name": "<fn>"'
        context, continuation = encode_pair(state.tokenizer, text, state.reply_separator + start)
        rows.append(Row(context + continuation, 0))
        lengths.append(len(continuation))
    job = Job(rows=rows, temperature=0.0, top_k=0, echo=True, timeout=state.timeout)
    state.engine.submit(job)
    outputs = await state.engine.result(job)
    scores = [sum(lp.logprob for lp in out.logprobs[-n:]) for out, n in zip(outputs, lengths,
              strict=True)]  # fmt: skip
    return names[max(range(len(names)), key=scores.__getitem__)]
