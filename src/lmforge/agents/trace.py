"""What every agent loop shares: its budget, the trace of what happened, and its result.

A `Budget` caps model calls (steps) and generated tokens; a `Meter` spends it and is shared
by every sub-run of one agent run (a plan's tasks, Reflexion's trials), so the cap is hard.
The `Trace` records `Event`s in order (goal, thought, action, observation, answer, reflection,
plan, stop, ...) and hands each to an optional listener as it happens, which is how the CLI
prints the trace live; `trace.jsonl` is the same events, one JSON object a line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.errors import LmforgeError

STOP_REASONS = ("answer", "max-steps", "max-tokens", "context", "max-trials", "failed")


@dataclass(frozen=True)
class Budget:
    max_steps: int = 8  # model calls
    max_tokens: int = 4096  # generated tokens, over the whole run
    step_tokens: int = 256  # the most one model call may generate

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_tokens", "step_tokens"):
            if getattr(self, name) < 1:
                raise LmforgeError(f"{name.replace('_', '-')} is {getattr(self, name)}.",
                                   "Give at least 1.")  # fmt: skip


@dataclass
class Meter:
    """Steps and tokens spent against one budget."""

    budget: Budget
    steps: int = 0
    tokens: int = 0
    step_offset: int = 0  # steps spent by earlier trials that do not count against this one

    def exhausted(self) -> str | None:
        """Why no further model call may start, or None."""
        if self.steps - self.step_offset >= self.budget.max_steps:
            return "max-steps"
        if self.tokens >= self.budget.max_tokens:
            return "max-tokens"
        return None

    def next_call_tokens(self) -> int:
        return min(self.budget.step_tokens, self.budget.max_tokens - self.tokens)

    def charge(self, tokens: int) -> None:
        self.steps += 1
        self.tokens += tokens

    def new_trial(self) -> None:
        """Reflexion: each trial gets the full step budget; tokens stay shared."""
        self.step_offset = self.steps


@dataclass
class Event:
    kind: str  # goal, thought, action, observation, answer, reflection, plan, task, stop, ...
    text: str
    step: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Listener = Callable[[Event], None]


@dataclass
class Trace:
    listener: Listener | None = None
    events: list[Event] = field(default_factory=list)

    def add(self, kind: str, text: str, step: int = 0, **data: Any) -> Event:
        event = Event(kind, text, step, data)
        self.events.append(event)
        if self.listener is not None:
            self.listener(event)
        return event


@dataclass
class AgentResult:
    """The final answer (None if the run stopped first), why it stopped, and the whole trace."""

    answer: str | None
    stop_reason: str
    events: list[Event]
    steps: int
    tokens: int
    extra: dict[str, Any] = field(default_factory=dict)  # strategy-specific: trials, tasks, ...

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "tokens": self.tokens,
            **self.extra,
        }

    def actions(self) -> list[Event]:
        return [e for e in self.events if e.kind == "action"]

    def observations(self) -> list[Event]:
        return [e for e in self.events if e.kind == "observation"]
