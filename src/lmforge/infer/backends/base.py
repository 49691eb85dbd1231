"""The one interface every model backend offers, and what a backend returns.

A backend answers `generate(prompt, **options) -> Completion` (a string prompt is a raw
completion, a list of messages a chat), `generate_batch(prompts, **options)` (one each, in
order), `stream(...)` (text pieces), and `loglikelihood` / `loglikelihoods` (sum of
log P(continuation | context)). Each declares its `capabilities`; asking for one it lacks
raises `LmforgeError` naming the capability and the backend, before any work. Subclasses
implement `_generate`, `_stream` and `_loglikelihoods` (and may batch `_generate_batch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lmforge.errors import LmforgeError

Prompt = str | list[dict]
CAPABILITIES = ("chat", "completion", "loglikelihood", "tools", "streaming")
# Sampling options every backend understands, with their defaults (temperature 0 = greedy).
DEFAULTS: dict[str, Any] = {
    "temperature": 0.0,
    "top_p": 1.0,
    "max_tokens": 128,
    "stop": None,
    "seed": None,
    "n": 1,
    "tools": None,
}


@dataclass
class Completion:
    """One reply: its text (the first of `texts` when n > 1), why it ended, token counts."""

    text: str
    finish_reason: str = "stop"  # "stop" (end token or stop string) or "length"
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens
    raw: Any = None  # what the backend returned, as is (JSON for HTTP backends)
    texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.texts:
            self.texts = [self.text]


def check_options(options: dict[str, Any], backend: str) -> dict[str, Any]:
    """The options with defaults filled in; an unknown or invalid one is the user's error."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise LmforgeError(
            f"unknown generation option(s) {', '.join(unknown)} for backend {backend}.",
            f"Known options: {', '.join(DEFAULTS)}.",
        )
    merged = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    if merged["temperature"] < 0:
        raise LmforgeError(f"temperature {merged['temperature']} is negative.", "Use 0 or more.")
    if not 0 < merged["top_p"] <= 1:
        raise LmforgeError(f"top_p {merged['top_p']} is not in (0, 1].")
    if merged["max_tokens"] < 1 or merged["n"] < 1:
        raise LmforgeError("max_tokens and n must be at least 1.")
    if isinstance(merged["stop"], str):
        merged["stop"] = [merged["stop"]]
    return merged


def cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """`text` up to the first stop string (excluded), and whether one was found."""
    cuts = [text.find(s) for s in stop or [] if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


class Backend:
    """Base class: capability checks, option checks and the batched-to-single fallbacks."""

    capabilities: frozenset[str] = frozenset()
    context_window: int | None = None  # tokens, when known

    @property
    def name(self) -> str:
        """Short name for messages, e.g. `openai/gpt-x` or `local:/models/sft`."""
        return type(self).__name__

    @property
    def identity(self) -> str:
        """What makes two backends answer alike: the cache key's first part."""
        return self.name

    def require(self, capability: str) -> None:
        if capability not in self.capabilities:
            have = ", ".join(sorted(self.capabilities)) or "nothing"
            raise LmforgeError(
                f"backend {self.name} does not support {capability} (it supports {have}).",
                "Use a backend that does, or a strategy that does not need it.",
            )

    def generate(self, prompt: Prompt, **options) -> Completion:
        options = check_options(options, self.name)
        self.require("chat" if isinstance(prompt, list) else "completion")
        if options["tools"] is not None:
            self.require("tools")
        return self._generate(prompt, options)

    def generate_batch(self, prompts: list[Prompt], **options) -> list[Completion]:
        """One completion per prompt, in order; a local model runs them in padded batches."""
        options = check_options(options, self.name)
        for prompt in prompts:
            self.require("chat" if isinstance(prompt, list) else "completion")
        if options["tools"] is not None:
            self.require("tools")
        return self._generate_batch(list(prompts), options)

    def stream(self, prompt: Prompt, **options) -> Iterator[str]:
        options = check_options(options, self.name)
        self.require("streaming")
        self.require("chat" if isinstance(prompt, list) else "completion")
        return self._stream(prompt, options)

    def loglikelihood(self, context: str, continuation: str) -> float:
        return self.loglikelihoods([(context, continuation)])[0]

    def loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        self.require("loglikelihood")
        return self._loglikelihoods([(str(c), str(x)) for c, x in requests])

    def count_tokens(self, prompt: Prompt) -> int | None:
        """Tokens the prompt takes in the model's window, when the backend can tell."""
        return None

    def render(self, prompt: Prompt) -> str | None:
        """The exact text the model sees for `prompt`, when the backend can tell."""
        return prompt if isinstance(prompt, str) else None

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        raise NotImplementedError

    def _generate_batch(self, prompts: list[Prompt], options: dict[str, Any]) -> list[Completion]:
        return [self._generate(prompt, options) for prompt in prompts]

    def _stream(self, prompt: Prompt, options: dict[str, Any]) -> Iterator[str]:
        yield self._generate(prompt, {**options, "n": 1}).text

    def _loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        raise NotImplementedError
