"""Any OpenAI-compatible HTTP endpoint: `load_backend("openai/<model>", base_url=..., api_key=...)`.

Chat prompts go to `/chat/completions`, text prompts to `/completions`; `stream` reads the
server-sent events of either. Log-likelihoods use `/completions` with `echo: true, logprobs: 1,
max_tokens: 0` (what lm-evaluation-harness relies on): the server returns the prompt's own
token log-probabilities and the continuation's tokens are those starting at or after the
context's end (trailing spaces of the context move to the continuation, as in lm-eval).
Chat-only servers (the OpenAI API itself for chat models) do not return these; the error says
so. `base_url` defaults to OPENAI_BASE_URL, then https://api.openai.com/v1.
`generate(messages, tools=[...])` sends OpenAI `tools`; the reply's `tool_calls` are in
`completion.raw` (read by `agents.protocols.native_calls`), with `finish_reason` "tool_calls".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import CAPABILITIES, Backend, Completion, Prompt
from lmforge.infer.backends.httpjson import JsonClient, RetryPolicy

DEFAULT_URL = "https://api.openai.com/v1"


class OpenAIBackend(Backend):
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        capabilities: set[str] | None = None,
        context_window: int | None = None,
    ) -> None:
        if not model:
            raise LmforgeError("no model name after openai/.", "Write e.g. openai/gpt-4o-mini.")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.client = JsonClient(
            self.base_url, key, timeout, RetryPolicy(max_retries, backoff, backoff_max)
        )
        self.capabilities = frozenset(capabilities or CAPABILITIES)
        self.context_window = context_window

    @property
    def name(self) -> str:
        return f"openai/{self.model}"

    @property
    def identity(self) -> str:
        return f"openai/{self.model}@{self.base_url}"

    def _body(self, prompt: Prompt, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": options["temperature"],
            "top_p": options["top_p"],
            "max_tokens": options["max_tokens"],
            "n": options["n"],
        }
        for key in ("stop", "seed"):
            if options[key] is not None:
                body[key] = options[key]
        if isinstance(prompt, list):
            if options.get("tools") is not None:
                body["tools"] = options["tools"]
            return "/chat/completions", {**body, "messages": prompt}
        if options.get("tools") is not None:
            raise LmforgeError(
                f"{self.name}: tools need a chat prompt (a list of messages), not a text prompt."
            )
        return "/completions", {**body, "prompt": prompt}

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        path, body = self._body(prompt, options)
        reply = self.client.post(path, body, f"model {self.model}")
        choices = reply.get("choices") or []
        if not choices:
            raise LmforgeError(f"{self.base_url}{path} answered without choices: {reply!r:.200}.")
        texts = [_choice_text(c) for c in choices]
        usage = reply.get("usage") or {}
        usage = {k: int(usage.get(k, 0)) for k in ("prompt_tokens", "completion_tokens")}
        reason = choices[0].get("finish_reason") or "stop"
        return Completion(texts[0], reason, usage, raw=reply, texts=texts)

    def _stream(self, prompt: Prompt, options: dict[str, Any]) -> Iterator[str]:
        path, body = self._body(prompt, {**options, "n": 1})
        for event in self.client.stream(path, {**body, "stream": True}, f"model {self.model}"):
            for choice in event.get("choices") or []:
                piece = _choice_text(choice, delta=True)
                if piece:
                    yield piece

    def _loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        return [self._one_loglikelihood(c, x) for c, x in requests]

    def _one_loglikelihood(self, context: str, continuation: str) -> float:
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:  # lm-eval's split: the context's trailing spaces start the continuation
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        body = {
            "model": self.model,
            "prompt": context + continuation,
            "echo": True,
            "logprobs": 1,
            "max_tokens": 0,
            "temperature": 0.0,
        }
        try:
            reply = self.client.post("/completions", body, f"model {self.model}")
        except LmforgeError as e:
            if getattr(e, "status", None) in (400, 422):  # the server refused echo/logprobs
                raise self._no_echo(f" (it answered: {e.what})") from None
            raise
        logprobs = ((reply.get("choices") or [{}])[0]).get("logprobs") or {}
        tokens, offsets = logprobs.get("token_logprobs"), logprobs.get("text_offset")
        if not tokens or not offsets:
            raise self._no_echo()
        picked = [lp for lp, at in zip(tokens, offsets, strict=True) if at >= len(context)]
        if not picked or any(lp is None for lp in picked):
            raise LmforgeError(
                f"{self.name} returned no log-probability for the continuation "
                f"{continuation!r} (an empty context cannot be scored this way)."
            )
        return float(sum(picked))

    def _no_echo(self, why: str = "") -> LmforgeError:
        return LmforgeError(
            f"the endpoint {self.base_url} does not return prompt log-probabilities "
            f"(/completions with echo + logprobs), so backend {self.name} cannot compute "
            f"log-likelihoods{why}.",
            "Use a server that supports echo (e.g. vLLM, llama.cpp) or a local model directory.",
        )


def _choice_text(choice: dict[str, Any], delta: bool = False) -> str:
    if "text" in choice:
        return choice["text"] or ""
    message = choice.get("delta" if delta else "message") or {}
    return message.get("content") or ""
