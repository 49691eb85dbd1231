"""Prompt templates: an instruction, demonstrations and a query, as chat messages or text.

`render(template, query, demos, mode)` returns the exact prompt a backend receives: in chat
mode a list of messages (the model's own chat template renders them), in completion mode one
text. `fits(prompt)` (e.g. from a backend's token count and window) makes `render` drop the
demonstrations from the last (lowest priority) until the prompt fits; `Rendered.notes` says
how many were dropped. Demonstrations with a rationale (few-shot CoT) show it before the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Prompt

MODES = ("completion", "chat")


@dataclass(frozen=True)
class Demo:
    """A worked example: question, answer and, for chain-of-thought, the reasoning."""

    question: str
    answer: str
    rationale: str | None = None


@dataclass
class PromptTemplate:
    """How an instruction, demonstrations and the query are laid out."""

    instruction: str = ""
    question_prefix: str = "Question: "
    answer_prefix: str = "Answer:"
    use_rationales: bool = False  # few-shot CoT: demos show their reasoning

    def demo_reply(self, demo: Demo) -> str:
        if not self.use_rationales:
            return demo.answer
        if not demo.rationale:  # still show the marker the reply is parsed by
            return f"The answer is {demo.answer}."
        last = demo.rationale.strip().splitlines()[-1]
        if demo.answer in last:  # the lab scratchpads end with "Answer: N" already
            return demo.rationale.strip()
        return f"{demo.rationale.strip()}\nThe answer is {demo.answer}."

    def text(self, query: str, demos: Sequence[Demo], cue: str = "") -> str:
        """Completion text: instruction, Question/Answer blocks, the query and its cue."""
        blocks = [self.instruction.strip()] if self.instruction.strip() else []
        for demo in demos:
            reply = self.demo_reply(demo)
            blocks.append(f"{self.question_prefix}{demo.question}\n{self.answer_prefix} {reply}")
        blocks.append(f"{self.question_prefix}{query}\n{self.answer_prefix}{_space(cue)}")
        return "\n\n".join(blocks)

    def messages(self, query: str, demos: Sequence[Demo], cue: str = "") -> list[dict]:
        """Chat messages: a system instruction, demos as user/assistant turns, the query."""
        messages = [{"role": "system", "content": self.instruction.strip()}]
        messages = messages if self.instruction.strip() else []
        for demo in demos:
            messages.append({"role": "user", "content": demo.question})
            messages.append({"role": "assistant", "content": self.demo_reply(demo)})
        content = f"{query}\n{cue}" if cue else query
        messages.append({"role": "user", "content": content})
        return messages


@dataclass
class Rendered:
    """The final prompt and what went into it."""

    prompt: Prompt
    demos: list[Demo]
    dropped: int = 0
    notes: list[str] = field(default_factory=list)


def render(
    template: PromptTemplate,
    query: str,
    demos: Sequence[Demo] = (),
    mode: str = "completion",
    cue: str = "",
    fits: Callable[[Prompt], bool] | None = None,
) -> Rendered:
    """The prompt for `query` with as many of `demos` (in priority order) as fit."""
    if mode not in MODES:
        raise LmforgeError(f"prompt mode {mode!r} is not one of {', '.join(MODES)}.")
    build = template.messages if mode == "chat" else template.text
    kept = list(demos)
    while True:
        prompt = build(query, kept, cue)
        if fits is None or fits(prompt):
            break
        if not kept:
            raise LmforgeError(
                "the prompt does not fit the model's context even without demonstrations.",
                "Shorten the instruction or the question, or ask for fewer new tokens.",
            )
        kept.pop()  # the lowest-priority demonstration goes first
    dropped = len(demos) - len(kept)
    notes = [f"dropped {dropped} of {len(demos)} demonstrations to fit the context"] * (dropped > 0)
    return Rendered(prompt, kept, dropped, notes)


def window_fits(backend, max_tokens: int) -> Callable[[Prompt], bool] | None:
    """`fits` for a backend whose window and token count are known, leaving room to answer:
    `max_tokens`, or half the window when that is less (small models have small windows)."""
    window = backend.context_window
    if window is None:
        return None
    room = min(max_tokens, window // 2)

    def fits(prompt: Prompt) -> bool:
        n = backend.count_tokens(prompt)
        return n is None or n + room <= window

    return fits


def _space(cue: str) -> str:
    return f" {cue}" if cue else ""
