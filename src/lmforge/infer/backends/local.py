"""The local backend: a Hugging Face model directory, run in this process.

Generation is `lmforge.infer.generate.stream_text` (greedy at temperature 0, else sampled with
`seed`, default 0; `n` samples use seeds seed, seed+1, ...), stopped early at a stop string.
`generate_batch` runs greedy prompts through `infer.generate.generate_batch` (left-padded
batches of `batch_size`), each getting the text it would get alone.
Log-likelihoods are `lmforge.eval.scoring.loglikelihoods`, so they equal `lmforge eval`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmforge.eval.prompts import resolve_chat_template
from lmforge.eval.scoring import loglikelihoods
from lmforge.infer.backends.base import Backend, Completion, Prompt, cut_at_stop
from lmforge.infer.generate import (
    context_length,
    encode_prompt,
    generate_batch,
    render_prompt,
    stream_text,
)
from lmforge.models.io import load_model
from lmforge.runs import content_hash


class LocalBackend(Backend):
    def __init__(self, model_dir: str | Path, batch_size: int = 8, loaded=None) -> None:
        self.model_dir = Path(model_dir)
        self.model, self.tokenizer = loaded if loaded is not None else load_model(self.model_dir)
        self.batch_size = batch_size
        self.context_window = context_length(self.model)
        caps = {"completion", "loglikelihood", "streaming"}
        if getattr(self.tokenizer, "chat_template", None) is not None:
            caps.add("chat")
        self.capabilities = frozenset(caps)
        self._identity: str | None = None

    @property
    def name(self) -> str:
        return f"local:{self.model_dir}"

    @property
    def identity(self) -> str:
        if self._identity is None:  # the content, not the path: retraining changes the key
            self._identity = f"local:{content_hash(self.model_dir)}"
        return self._identity

    def prefers_chat(self) -> bool:
        """Whether `lmforge eval` would use the chat template for this model (auto)."""
        return resolve_chat_template("auto", self.model_dir, self.tokenizer)[0]

    def count_tokens(self, prompt: Prompt) -> int:
        return len(encode_prompt(self.tokenizer, prompt))

    def render(self, prompt: Prompt) -> str:
        return render_prompt(self.tokenizer, prompt)

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        if _plain_greedy(options):  # nothing to watch while it runs: no streaming thread
            return self._generate_batch([prompt], options)[0]
        seed = options["seed"] if options["seed"] is not None else 0
        results = [self._one(prompt, options, seed + i) for i in range(options["n"])]
        text, reason, n_new = results[0]
        usage = {"prompt_tokens": self.count_tokens(prompt), "completion_tokens": n_new}
        return Completion(text, reason, usage, raw=results, texts=[r[0] for r in results])

    def _generate_batch(self, prompts: list[Prompt], options: dict[str, Any]) -> list[Completion]:
        if options["temperature"] > 0 or options["n"] > 1:  # sampled: one seeded run each
            return [self._generate(prompt, options) for prompt in prompts]
        texts = generate_batch(
            self.model, self.tokenizer, prompts, options["max_tokens"], self.batch_size
        )
        pairs = zip(prompts, texts, strict=True)
        return [self._finished(prompt, text, options) for prompt, text in pairs]

    def _finished(self, prompt: Prompt, text: str, options: dict[str, Any]) -> Completion:
        text, stopped = cut_at_stop(text, options["stop"])
        text, reason, n_new = self._ending(text, stopped, options)
        usage = {"prompt_tokens": self.count_tokens(prompt), "completion_tokens": n_new}
        return Completion(text, reason, usage)

    def _ending(self, text: str, stopped: bool, options: dict[str, Any]) -> tuple[str, str, int]:
        """(text right-stripped, finish reason, new tokens), alike for every path."""
        text = text.rstrip()
        n_new = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        # generation drops end tokens, so a full budget is the only sign of a cut reply
        reason = "length" if not stopped and n_new >= options["max_tokens"] else "stop"
        return text, reason, n_new

    def _one(self, prompt: Prompt, options: dict[str, Any], seed: int) -> tuple[str, str, int]:
        pieces = self._pieces(prompt, options, seed)
        text, stopped = "", False
        for piece in pieces:
            text += piece
            text, stopped = cut_at_stop(text, options["stop"])
            if stopped:
                pieces.close()  # ends the generation thread early
                break
        return self._ending(text, stopped, options)

    def _pieces(self, prompt: Prompt, options: dict[str, Any], seed: int):
        return stream_text(
            self.model, self.tokenizer, prompt, options["max_tokens"], options["temperature"],
            options["top_p"], seed,
        )  # fmt: skip

    def _stream(self, prompt: Prompt, options: dict[str, Any]) -> Iterator[str]:
        seed = options["seed"] if options["seed"] is not None else 0
        yield from self._pieces(prompt, options, seed)

    def _loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        scored = loglikelihoods(self.model, self.tokenizer, requests, self.batch_size)
        return [value for value, _greedy in scored]


def _plain_greedy(options: dict[str, Any]) -> bool:
    """Greedy, one reply, no stop strings: the reply is just `model.generate`'s."""
    return options["temperature"] == 0 and options["n"] == 1 and not options["stop"]
