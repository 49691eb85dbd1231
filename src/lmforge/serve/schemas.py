"""Request bodies of the OpenAI-compatible API, as pydantic models (they also make the spec).

Ranges follow OpenAI's: temperature in [0, 2], top_p in (0, 1], n in [1, 16], top_logprobs
in [0, 20]. Unknown fields are ignored, as vLLM does, so clients that send extra options
(lm-evaluation-harness, LangChain) still work; options that change the answer but are not
implemented (`tools`) are refused by the routes instead of silently dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Stop = str | list[str] | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Sampling(_Body):
    """Options shared by chat and text completions."""

    model: str
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=16)
    stop: Stop = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class ContentPart(_Body):
    type: str
    text: str | None = None


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class ChatRequest(Sampling):
    """`POST /v1/chat/completions`."""

    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None


class CompletionRequest(Sampling):
    """`POST /v1/completions`: `prompt` is text, texts, token ids or lists of token ids."""

    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int = Field(16, ge=0)
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=20)


class TokenizeRequest(_Body):
    """`POST /tokenize` (vLLM's body): a `prompt`, or chat `messages` rendered by the template."""

    model: str | None = None
    prompt: str | None = None
    messages: list[Message] | None = None
    add_special_tokens: bool = True


class DetokenizeRequest(_Body):
    """`POST /detokenize` (vLLM's body)."""

    model: str | None = None
    tokens: list[int]


Sampling.model_rebuild()
