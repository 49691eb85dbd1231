"""What every route needs: the served model, its engine and settings, the embedder, tracer and
prompt registry, and small shared helpers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from lmforge.infer.generate import context_length, new_token_budget
from lmforge.serve.engine import Engine, Output
from lmforge.serve.errors import APIError

if TYPE_CHECKING:
    from lmforge.prompting.registry import PromptRegistry
    from lmforge.serve.embeddings import Embeddings
    from lmforge.serve.tracing import Tracer


@dataclass
class Served:
    engine: Engine
    model_id: str
    timeout: float = 60.0
    api_key: str | None = None
    created: int = 0
    embeddings: Embeddings | None = None
    tracer: Tracer | None = None
    prompts: PromptRegistry | None = None

    @cached_property
    def reply_separator(self) -> str:
        """What the chat template puts between the generation prompt and the reply's text
        (" " for lmforge's template), so a forced reply starts where a free one would."""
        probe = [{"role": "user", "content": "u"}]
        apply = self.tokenizer.apply_chat_template
        start = apply(probe, tokenize=False, add_generation_prompt=True)
        marker = "\x00reply"
        whole = apply([*probe, {"role": "assistant", "content": marker}], tokenize=False)
        if not whole.startswith(start) or marker not in whole[len(start) :]:
            return ""
        between = whole[len(start) :].split(marker)[0]
        return between if between.isspace() else ""

    @property
    def model(self):
        return self.engine.model

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    @property
    def context(self) -> int | None:
        return context_length(self.model)

    def check_model(self, name: str | None) -> None:
        if name is not None and name != self.model_id:
            raise APIError(404, f"The model `{name}` does not exist; this server serves "
                           f"`{self.model_id}`.", "model", "model_not_found")  # fmt: skip

    def budget(self, n_prompt: int, max_tokens: int | None) -> int:
        """New tokens allowed after a prompt: `max_tokens`, else all the context left."""
        if n_prompt == 0:
            raise APIError(400, "The prompt is empty.", "prompt")
        wanted = max_tokens if max_tokens is not None else (self.context or 256)
        return new_token_budget(self.model, n_prompt, wanted)

    def check_ids(self, ids: list[int], param: str = "prompt") -> None:
        vocab = self.model.config.vocab_size
        bad = [t for t in ids if not 0 <= t < vocab]
        if bad:
            raise APIError(400, f"token id {bad[0]} is not in the vocabulary (0..{vocab - 1}).",
                           param)  # fmt: skip


def served(request: Request) -> Served:
    return request.app.state.served


State = Annotated[Served, Depends(served)]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def usage(outputs: list[Output], n_prompts: int = 1) -> dict[str, int]:
    """OpenAI counts each prompt once, however many choices it has."""
    per_prompt = len(outputs) // max(n_prompts, 1)
    prompt = sum(o.prompt_tokens for o in outputs[::per_prompt]) if outputs else 0
    completion = sum(len(o.ids) for o in outputs)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def stops(stop: str | list[str] | None) -> list[str]:
    items = [stop] if isinstance(stop, str) else list(stop or [])
    if len(items) > 4:
        raise APIError(400, "At most 4 stop sequences are allowed.", "stop")
    return [s for s in items if s]
