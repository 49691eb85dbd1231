"""`POST /v1/embeddings`: vectors from `lmforge.embed.load_embedder`, in OpenAI's wire format.

    lmforge serve --model quickstart/sft --embedder minilm     # the default; DIR for your own
    client.embeddings.create(model="minilm", input=["a", "b"]).data[0].embedding

The embedder is a sentence-transformers model (all-MiniLM-L6-v2 by default), loaded on the
first request (seconds) and kept. It runs in a worker thread, one batch at a time, so the
event loop and the chat model's engine are not blocked. `input` may be a string, a list of
strings, token ids or lists of token ids (decoded with the embedder's own tokenizer);
vectors are unit length (cosine = dot product). `encoding_format: base64` sends the
float32 little-endian bytes, as OpenAI does (the official client asks for it by default).
`dimensions` other than the model's own is refused: these models cannot shorten vectors.
`usage.prompt_tokens` counts the embedder's tokens, truncated as the model truncates them.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from lmforge.errors import LmforgeError
from lmforge.serve.errors import APIError
from lmforge.serve.schemas import EmbeddingRequest
from lmforge.serve.state import State
from lmforge.serve.tracing import note

router = APIRouter()
MAX_INPUTS = 2048


class Embeddings:
    """The embedding model of a server: checked at start, loaded on first use."""

    def __init__(self, spec: str) -> None:
        if spec == "tfidf":
            raise LmforgeError(
                "the server's embedder cannot be tfidf: it has no corpus to fit on.",
                "Use --embedder minilm or a sentence-transformers directory.",
            )
        if spec != "minilm" and not Path(spec).expanduser().is_dir():
            raise LmforgeError(
                f"embedder {spec!r} is neither minilm nor a directory.",
                "Use --embedder minilm, a local sentence-transformers model, or none.",
            )
        self.spec = spec
        self.model_id = "minilm" if spec == "minilm" else Path(spec).expanduser().resolve().name
        self._embedder = None
        self._lock = threading.Lock()  # one load, one batch at a time

    def _loaded(self):
        if self._embedder is None:
            from lmforge.embed import load_embedder

            self._embedder = load_embedder(self.spec)
        return self._embedder

    def dim(self) -> int:
        with self._lock:
            return self._loaded().dim

    def embed(self, inputs: list[str] | list[list[int]]) -> tuple[np.ndarray, int]:
        """(unit vectors, tokens read) for texts or token-id lists."""
        with self._lock:
            embedder = self._loaded()
            tokenizer = embedder.model.tokenizer
            if inputs and not isinstance(inputs[0], str):
                inputs = [_decode(tokenizer, ids, i) for i, ids in enumerate(inputs)]
            counted = tokenizer(list(inputs), truncation=True, max_length=embedder.max_tokens)
            n_tokens = sum(len(ids) for ids in counted["input_ids"])
            return embedder(inputs), n_tokens


def _decode(tokenizer, ids: list[int], index: int) -> str:
    size = len(tokenizer)
    bad = [t for t in ids if not 0 <= t < size]
    if bad:
        raise APIError(400, f"input {index}: token id {bad[0]} is not in the embedding model's "
                       f"vocabulary (0..{size - 1}).", "input")  # fmt: skip
    return tokenizer.decode(ids, skip_special_tokens=True)


def _inputs(value) -> list[str] | list[list[int]]:
    """`input` as a list of texts or of token-id lists, checked like OpenAI checks it."""
    items = [value] if isinstance(value, str) else list(value)
    if items and isinstance(items[0], int):
        items = [items]
    if not items:
        raise APIError(400, "`input` is empty.", "input")
    if len(items) > MAX_INPUTS:
        raise APIError(400, f"`input` has {len(items)} items; at most {MAX_INPUTS} are allowed.",
                       "input")  # fmt: skip
    for i, item in enumerate(items):
        if not item:
            raise APIError(400, f"input {i} is empty; every input must have some text.", "input")
    return items


@router.post("/v1/embeddings")
async def create_embeddings(body: EmbeddingRequest, request: Request, state: State) -> dict:
    """Embed each input; the vectors come back in input order."""
    embeddings = state.embeddings
    if embeddings is None:
        raise APIError(404, "This server has no embedding model (it was started with "
                       "--embedder none).", "model", "model_not_found")  # fmt: skip
    if body.model != embeddings.model_id:
        raise APIError(404, f"The model `{body.model}` does not exist here; the embedding model "
                       f"is `{embeddings.model_id}`.", "model", "model_not_found")  # fmt: skip
    inputs = _inputs(body.input)
    note(request, model=embeddings.model_id, prompt=inputs)
    dim = await run_in_threadpool(embeddings.dim)
    if body.dimensions is not None and body.dimensions != dim:
        raise APIError(400, f"`dimensions` {body.dimensions} is not supported: "
                       f"`{embeddings.model_id}` gives {dim}-dimensional vectors only.",
                       "dimensions")  # fmt: skip
    vectors, n_tokens = await run_in_threadpool(embeddings.embed, inputs)
    vectors = np.asarray(vectors, dtype="<f4")
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)]  # fmt: skip
    usage = {"prompt_tokens": n_tokens, "total_tokens": n_tokens}
    note(request, prompt_tokens=n_tokens, completion_tokens=0,
         output={"count": len(data), "dimensions": dim})  # fmt: skip
    return {"object": "list", "data": data, "model": embeddings.model_id, "usage": usage}


def _encode(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.tobytes()).decode("ascii")
    return vector.tolist()
