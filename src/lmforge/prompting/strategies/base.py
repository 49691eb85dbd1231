"""What every strategy shares: the Answer it returns, the steps it records, how it asks.

A strategy is configured once (template, demonstration selector, chat or completion mode,
answer matching) and then `run(backend, example) -> Answer` for each example (a dict with a
"question"). Every prompt it sends and every reply is a `Step` of the answer, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.infer.backends.base import Backend, Prompt
from lmforge.prompting.templates import Demo, PromptTemplate, Rendered, render, window_fits

Selector = Callable[[str], list[Demo]]


@dataclass
class Step:
    name: str  # what the step was for, e.g. "reason", "extract", "sample 3"
    prompt: Prompt
    reply: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Answer:
    """The answer (None when no reply could be parsed), every step, votes and confidence."""

    answer: str | None
    steps: list[Step] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    confidence: float | None = None

    @property
    def unparsed(self) -> bool:
        return self.answer is None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "unparsed": self.unparsed}


@dataclass
class Strategy:
    """Shared settings; subclasses implement `run`."""

    template: PromptTemplate = field(default_factory=PromptTemplate)
    select: Selector | None = None  # demonstrations for a query; None = zero-shot
    mode: str = "completion"  # or "chat": messages rendered by the model's chat template
    match: str = "exact"  # "numeric" for arithmetic: answers compare as integers
    max_tokens: int = 256
    name = "strategy"

    def demos(self, example: dict[str, Any]) -> list[Demo]:
        return [] if self.select is None else self.select(example["question"])

    def render(self, backend: Backend, query: str, demos: list[Demo], cue: str = "") -> Rendered:
        fits = window_fits(backend, self.max_tokens)
        return render(self.template, query, demos, self.mode, cue, fits)

    def ask(
        self, backend: Backend, prompt: Prompt, steps: list[Step], name: str, reserve: int = 0,
        **options,
    ):  # fmt: skip
        """Send one prompt, record it as a step, return the reply's text.

        `reserve` tokens of the model's window stay free after the reply, for a follow-up
        prompt that continues it (CoT's answer extraction): the reply is shortened to fit.
        """
        options.setdefault("max_tokens", self.max_tokens)
        room = _room(backend, prompt, reserve)
        if room is not None:
            options["max_tokens"] = max(1, min(options["max_tokens"], room))
        if self.mode == "completion":  # a completion model goes on to the next question
            options.setdefault("stop", [f"\n{self.template.question_prefix.strip()}"])
        reply = backend.generate(prompt, **options).text
        steps.append(Step(name, prompt, reply))
        return reply

    def run(self, backend: Backend, example: dict[str, Any]) -> Answer:
        raise NotImplementedError


def _room(backend: Backend, prompt: Prompt, reserve: int) -> int | None:
    """Tokens left in the window after `prompt` and `reserve`; None when unknown or unasked."""
    if not reserve or backend.context_window is None:
        return None
    used = backend.count_tokens(prompt)
    return None if used is None else backend.context_window - used - reserve


def follow_up(prompt: Prompt, reply: str, text: str) -> Prompt:
    """The prompt continued by the model's reply and a further cue (or user turn)."""
    if isinstance(prompt, list):
        return [*prompt, {"role": "assistant", "content": reply.strip()},
                {"role": "user", "content": text}]  # fmt: skip
    return f"{prompt} {reply.strip()}\n{text}"
