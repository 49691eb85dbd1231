"""How a judge puts a prompt to a backend: as completion text or a chat turn, and how a
log-likelihood judge reads a distribution over a few candidate answers (score tokens, verdicts).

A log-likelihood needs the exact text the model sees: the prompt itself in completion mode, or
the backend's rendering of the chat turn (with its generation prompt) in chat mode. Backends
that cannot render a chat (HTTP chat models) therefore judge by generating and parsing.
"""

from __future__ import annotations

import math

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend, Prompt

SCORINGS = ("auto", "logprobs", "generate")
MODES = ("auto", "chat", "completion")


def as_prompt(text: str, mode: str) -> Prompt:
    return [{"role": "user", "content": text}] if mode == "chat" else text


def resolve_mode(mode: str, backend: Backend) -> str:
    """chat or completion: auto follows what `lmforge eval` would use for a local model."""
    if mode not in MODES:
        raise LmforgeError(f"mode {mode!r} is not one of {', '.join(MODES)}.")
    if mode != "auto":
        backend.require(mode)
        return mode
    prefers = getattr(backend, "prefers_chat", None)
    if prefers is not None:
        return "chat" if prefers() else "completion"
    return "completion" if "completion" in backend.capabilities else "chat"


def resolve_scoring(scoring: str, backend: Backend, mode: str) -> str:
    """logprobs when asked for (or auto) and the backend can score the exact prompt text."""
    if scoring not in SCORINGS:
        raise LmforgeError(f"scoring {scoring!r} is not one of {', '.join(SCORINGS)}.")
    if scoring == "generate":
        return scoring
    can = "loglikelihood" in backend.capabilities and (
        mode == "completion" or backend.render(as_prompt("probe", "chat")) is not None
    )
    if can:
        return "logprobs"
    if scoring == "logprobs":
        backend.require("loglikelihood")  # names the missing capability when that is the cause
        raise LmforgeError(
            f"backend {backend.name} cannot show the chat prompt as text, so it cannot score "
            "a chat turn by log-likelihood.",
            "Use --mode completion, or --scoring generate.",
        )
    return "generate"


def scoring_text(backend: Backend, prompt: Prompt) -> str:
    """The text a log-likelihood is conditioned on: what the model sees for `prompt`."""
    text = prompt if isinstance(prompt, str) else backend.render(prompt)
    if text is None:  # resolve_scoring rules this out; kept as a clear error, not a crash
        raise LmforgeError(f"backend {backend.name} cannot render the chat prompt as text.")
    return text


def joined(context: str, text: str) -> str:
    """`text` as it continues `context`: after a space unless the context ends in whitespace."""
    return text if not context or context[-1].isspace() else f" {text}"


def candidate_probabilities(
    backend: Backend, context: str, candidates: list[str], prefix: str = ""
) -> tuple[dict[str, float], dict[str, float]] | None:
    """(normalised probabilities, log-likelihoods) of each candidate continuing `context`.

    With `prefix` (e.g. "Final verdict: [["), the context is continued by it first and the
    candidates follow it directly. None when no candidate has a finite log-likelihood.
    """
    if prefix:
        context, continuations = context + joined(context, prefix), list(candidates)
    else:
        continuations = [joined(context, c) for c in candidates]
    logliks = backend.loglikelihoods([(context, c) for c in continuations])
    finite = [v for v in logliks if math.isfinite(v)]
    if not finite:
        return None
    top = max(finite)
    weights = [math.exp(v - top) if math.isfinite(v) else 0.0 for v in logliks]
    total = sum(weights)
    probs = {c: w / total for c, w in zip(candidates, weights, strict=True)}
    return probs, dict(zip(candidates, map(float, logliks), strict=True))


def room_after(backend: Backend, prompt: Prompt, reserve: int, where: str) -> int | None:
    """Tokens of the judge's window left after `prompt` (None when unknown); an error when
    fewer than `reserve` are left, since a cut prompt would hide what the judge must read."""
    window = backend.context_window
    used = backend.count_tokens(prompt) if window is not None else None
    if window is None or used is None:
        return None
    if used + reserve > window:
        raise LmforgeError(
            f"the judge prompt for {where} takes {used} tokens; with {reserve} more for what "
            f"the judge still writes, that exceeds the judge's context of {window} tokens.",
            "Use a judge with a longer context, shorter inputs, or shorter evaluation steps "
            "(--steps-max-tokens, or give the steps in a criteria file).",
        )
    return window - used
