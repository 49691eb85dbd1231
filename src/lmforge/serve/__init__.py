"""`lmforge serve`: one model behind an OpenAI-compatible HTTP API (FastAPI + uvicorn).

    lmforge serve --model quickstart/sft --port 8000 --api-key secret

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="secret")
    client.chat.completions.create(model="sft", messages=[{"role": "user", "content": "Hi"}])

Modules: app (routes, key, lifespan), chat and completions (the two generation routes),
schemas (request bodies), engine (bounded queue, worker thread, dynamic batching), model
(batched generation and scoring), sse (event streams), errors (OpenAI's error JSON),
limits (body size), state (what routes share). See docs/serving.md.
"""

from lmforge.serve.app import create_app, serve

__all__ = ["create_app", "serve"]
