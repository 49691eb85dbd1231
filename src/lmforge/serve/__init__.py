"""`lmforge serve`: one model behind an OpenAI-compatible HTTP API (FastAPI + uvicorn).

    lmforge serve --model quickstart/sft --port 8000 --api-key secret

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="secret")
    client.chat.completions.create(model="sft", messages=[{"role": "user", "content": "Hi"}])

Modules: app (routes, key, lifespan), chat and completions (the two generation routes),
embeddings (/v1/embeddings), tools, toolcalls, messages and replies (tool calling as a JSON
text protocol), tracing and tracestore (every request into SQLite), records (/v1/traces,
/v1/prompts), schemas (request bodies), engine (bounded queue, worker thread, dynamic
batching), model (batched generation and scoring), sse (event streams), errors (OpenAI's
error JSON), limits (body size), state (what routes share). See docs/serving.md.
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def __getattr__(name: str):
    # lazy: the CLI imports lmforge.serve.tracestore without paying for torch and FastAPI
    if name in __all__:
        from lmforge.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'lmforge.serve' has no attribute {name!r}")
