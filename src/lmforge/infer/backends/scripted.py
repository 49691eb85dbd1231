"""A deterministic fake model for testing the logic around a model (prompting, caching).

Replies come from a list (in order) or a function of (prompt, options); log-likelihoods from
a dict keyed by (context, continuation) or a function. Every call is recorded in `calls`, so
tests can assert the exact prompts a strategy sent. Tokens are counted as whitespace-separated
words, which is enough to test context-window handling.

    backend = ScriptedBackend(["Paris", "Rome"])
    backend.generate("Question: ...").text  # "Paris"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend, Completion, Prompt, cut_at_stop

Reply = list[str] | Callable[[Prompt, dict[str, Any]], str]
Logliks = dict[tuple[str, str], float] | Callable[[str, str], float]
ALL_BUT_TOOLS = frozenset({"chat", "completion", "loglikelihood", "streaming"})


@dataclass
class Call:
    method: str  # "generate" or "loglikelihoods"
    prompt: Any  # the prompt, or the list of (context, continuation) requests
    options: dict[str, Any]


class ScriptedBackend(Backend):
    def __init__(
        self,
        replies: Reply | None = None,
        logliks: Logliks | None = None,
        capabilities: frozenset[str] | set[str] = ALL_BUT_TOOLS,
        context_window: int | None = None,
        label: str = "scripted",
    ) -> None:
        self.replies = replies if replies is not None else []
        self.logliks = logliks if logliks is not None else {}
        self.capabilities = frozenset(capabilities)
        self.context_window = context_window
        self.label = label
        self.calls: list[Call] = []
        self._next = 0

    @property
    def name(self) -> str:
        return self.label

    @property
    def prompts(self) -> list[Prompt]:
        """The prompts of every generate call, in order."""
        return [c.prompt for c in self.calls if c.method == "generate"]

    def count_tokens(self, prompt: Prompt) -> int:
        if isinstance(prompt, list):
            return sum(len(str(m.get("content", "")).split()) for m in prompt)
        return len(prompt.split())

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        self.calls.append(Call("generate", prompt, dict(options)))
        texts = [self._reply(prompt, options) for _ in range(options["n"])]
        texts = [cut_at_stop(t, options["stop"])[0] for t in texts]
        usage = {"prompt_tokens": self.count_tokens(prompt), "completion_tokens": 0}
        usage["completion_tokens"] = len(texts[0].split())
        return Completion(texts[0], "stop", usage, raw=None, texts=texts)

    def _reply(self, prompt: Prompt, options: dict[str, Any]) -> str:
        if callable(self.replies):
            return self.replies(prompt, options)
        if self._next >= len(self.replies):
            raise LmforgeError(
                f"scripted backend {self.label} ran out of replies after {self._next} call(s)."
            )
        self._next += 1
        return self.replies[self._next - 1]

    def _loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        self.calls.append(Call("loglikelihoods", list(requests), {}))
        if callable(self.logliks):
            return [float(self.logliks(c, x)) for c, x in requests]
        missing = [r for r in requests if r not in self.logliks]
        if missing:
            raise LmforgeError(
                f"scripted backend {self.label} has no log-likelihood for {missing[0]}."
            )
        return [float(self.logliks[r]) for r in requests]
