"""Request bodies of the OpenAI-compatible API, as pydantic models (they also make the spec).

Ranges follow OpenAI's: temperature in [0, 2], top_p in (0, 1], n in [1, 16], top_logprobs
in [0, 20]. Unknown fields are ignored, as vLLM does, so clients that send extra options
(lm-evaluation-harness, LangChain) still work; options that change the answer but are not
implemented are refused by the routes instead of silently dropped. `prompt` on a chat
request is lmforge's extension: a template of the prompt registry.
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


class FunctionCall(_Body):
    name: str
    arguments: str = "{}"


class ToolCallIn(_Body):
    """An earlier assistant turn's tool call, sent back in the history."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None  # assistant turns
    tool_call_id: str | None = None  # tool turns: the call this result answers


class FunctionDef(_Body):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(_Body):
    """One entry of `tools`; its `parameters` schema is checked by `serve.tools`."""

    type: Literal["function"]
    function: FunctionDef


class PromptRef(_Body):
    """lmforge's extension: a registry template rendered into the system message."""

    name: str
    version: int | None = Field(None, ge=1)
    variables: dict[str, Any] = Field(default_factory=dict)


class ChatRequest(Sampling):
    """`POST /v1/chat/completions`."""

    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[ToolDef] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    prompt: PromptRef | None = None


class CompletionRequest(Sampling):
    """`POST /v1/completions`: `prompt` is text, texts, token ids or lists of token ids."""

    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int = Field(16, ge=0)
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=20)


class EmbeddingRequest(_Body):
    """`POST /v1/embeddings`: `input` is text, texts, token ids or lists of token ids."""

    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


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
