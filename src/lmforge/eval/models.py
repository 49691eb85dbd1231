"""What `lmforge eval` scores: a local model directory, or any `lmforge.infer` backend.

Both answer the two questions a task asks — log-likelihoods of (context, continuation)
pairs and greedy generations — so `eval.run` never branches on where the model lives.

- `LocalModel`: in-process, with lm-evaluation-harness's exact conventions (`eval.scoring`).
- `BackendModel`: a backend spec such as `openai/<model>` (any OpenAI-compatible server:
  `lmforge serve`, vLLM, llama.cpp). Multiple choice is scored through the completions API
  with `echo` + `logprobs`, as lm-eval's `local-completions` does, so its prompts are plain
  text: the chat template, which only the server knows, is used for generation tasks alone
  and only with `--chat-template on`. Perplexity needs a local model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.eval.prompts import resolve_chat_template
from lmforge.eval.scoring import loglikelihoods
from lmforge.eval.task import Task
from lmforge.infer.generate import generate_batch


class LocalModel:
    """A model and its tokenizer, scored in this process."""

    def __init__(self, lm, tokenizer) -> None:
        self.lm, self.tokenizer = lm, tokenizer

    def loglikelihoods(self, requests, batch_size: int, progress: Callable) -> list[tuple]:
        return loglikelihoods(self.lm, self.tokenizer, requests, batch_size, progress=progress)

    def generate(self, prompts, max_new: int, batch_size: int, progress: Callable) -> list[str]:
        return generate_batch(self.lm, self.tokenizer, prompts, max_new, batch_size, progress)


class BackendModel:
    """An `lmforge.infer` backend; it has no tokenizer here (the server holds it)."""

    tokenizer = None

    def __init__(self, backend) -> None:
        self.backend, self.lm = backend, None

    def loglikelihoods(self, requests, batch_size: int, progress: Callable) -> list[tuple]:
        scores = self.backend.loglikelihoods(requests)
        progress(list(range(len(requests))))
        return [(score, None) for score in scores]  # whether greedy: unknown over an API

    def generate(self, prompts, max_new: int, batch_size: int, progress: Callable) -> list[str]:
        replies = self.backend.generate_batch(prompts, max_tokens=max_new, temperature=0.0)
        progress(len(prompts))
        return [reply.text.rstrip() for reply in replies]


def is_local(spec: str | Path) -> bool:
    return Path(spec).is_dir()


def open_model(spec: str | Path, chat_template: str, tasks: list[Task]):
    """(model, use the chat template?, why) for a model directory or a backend spec."""
    if is_local(spec):
        from lmforge.models.io import load_model

        lm, tokenizer = load_model(spec)
        return LocalModel(lm, tokenizer), *resolve_chat_template(
            chat_template, Path(spec), tokenizer
        )
    from lmforge.infer.backends import load_backend

    setting = str(chat_template).lower()
    kinds = {task.kind for task in tasks}
    if setting == "on" and "multiple_choice" in kinds:
        raise LmforgeError(
            f"{spec}: multiple choice over an API is scored on plain-text prompts.",
            "Use --chat-template off (or auto) for multiple-choice tasks.",
        )
    if "loglikelihood_rolling" in kinds:
        raise LmforgeError(f"{spec}: perplexity tasks need a local model directory.")
    backend = load_backend(str(spec))
    if "multiple_choice" in kinds:
        backend.require("loglikelihood")
    chat = setting == "on"
    why = "on: chat API" if chat else f"{setting}: a backend is sent plain-text prompts"
    return BackendModel(backend), chat, why
