"""Model backends behind one interface: local directories, OpenAI-compatible HTTP, scripted.

    from lmforge.infer import load_backend
    backend = load_backend("quickstart/sft")                  # a model directory
    backend = load_backend("openai/my-model", base_url="http://127.0.0.1:8000/v1")
    backend = load_backend("scripted", replies=["42"])        # a fake, for tests
    backend.generate("Question: What is 2 + 2?\\nAnswer:", max_tokens=8).text
    backend.loglikelihood("The town of", " Kamori")

Wrap any of them in `CachedBackend(backend, dir)` to answer repeated deterministic calls
from disk.
"""

from __future__ import annotations

from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import CAPABILITIES, Backend, Completion
from lmforge.infer.backends.cache import CachedBackend
from lmforge.infer.backends.scripted import ScriptedBackend

__all__ = [
    "CAPABILITIES",
    "Backend",
    "CachedBackend",
    "Completion",
    "ScriptedBackend",
    "load_backend",
]


def load_backend(spec: str | Path, **options) -> Backend:
    """A backend from `spec`: "openai/<model>", "scripted", or a model directory."""
    text = str(spec)
    if text.startswith("openai/"):
        from lmforge.infer.backends.openai import OpenAIBackend

        return OpenAIBackend(text[len("openai/") :], **options)
    if text == "scripted":
        return ScriptedBackend(**options)
    path = Path(text)
    if not path.is_dir():
        raise LmforgeError(
            f"model {text!r} is neither a model directory nor a backend spec.",
            "Give a model directory, openai/<model> (with base_url or OPENAI_BASE_URL), "
            "or scripted.",
        )
    from lmforge.infer.backends.local import LocalBackend  # torch/transformers: only when used

    return LocalBackend(path, **options)
