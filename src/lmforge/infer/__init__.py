"""Using a model: streamed and batched generation, and a chat loop (`lmforge generate`/`chat`)."""

from lmforge.infer.backends import load_backend
from lmforge.infer.chat import chat
from lmforge.infer.generate import (
    chat_session,
    generate,
    generate_batch,
    render_prompt,
    stream_text,
)

__all__ = [
    "chat",
    "chat_session",
    "generate",
    "generate_batch",
    "load_backend",
    "render_prompt",
    "stream_text",
]
