"""The FastAPI app: routes, API key check, body size limit, and the engine's life cycle.

    from lmforge.serve import create_app, serve
    app = create_app("quickstart/sft", api_key="secret")   # any ASGI server can run it
    serve("quickstart/sft", port=8000)                      # what `lmforge serve` runs

Routes: `GET /v1/models`, `POST /v1/chat/completions` (with tools), `POST /v1/completions`,
`POST /v1/embeddings`, `GET /v1/traces`, `GET /v1/prompts[/{name}]`, `POST /tokenize`,
`POST /detokenize` (vLLM's bodies), `GET /health`; the OpenAPI spec is at `/openapi.json`.
The web UI is at `/` (`serve.ui_routes`; `GET /v1/ui`, `GET /v1/runs` with `workspace`,
`POST /v1/rag/ask` with `index`).
With an API key every route but `/health`, the spec and the UI's static files needs
`Authorization: Bearer KEY`.
With `trace_db` every request is recorded there (`serve.tracing`).
"""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request

from lmforge.infer.generate import encode_prompt
from lmforge.prompting.registry import PromptRegistry
from lmforge.serve import chat, completions, dashboard, embeddings, errors, rag, records, ui_routes
from lmforge.serve.embeddings import Embeddings
from lmforge.serve.engine import Engine
from lmforge.serve.errors import APIError
from lmforge.serve.limits import BodyLimit
from lmforge.serve.messages import template_messages
from lmforge.serve.schemas import DetokenizeRequest, TokenizeRequest
from lmforge.serve.state import Served, State, now
from lmforge.serve.tracing import TraceMiddleware, Tracer
from lmforge.serve.ui_routes import UIFiles, UISettings

MAX_BODY_BYTES = 8 * 1024 * 1024


def require_key(request: Request, state: State) -> None:
    """401 unless the request carries the server's key (compared in constant time)."""
    if state.api_key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), state.api_key.encode()
    ):
        raise APIError(401, "Incorrect or missing API key: send `Authorization: Bearer <key>`.",
                       code="invalid_api_key")  # fmt: skip


router = APIRouter(dependencies=[Depends(require_key)])


@router.get("/v1/models")
def list_models(state: State) -> dict:
    """The served chat model, and the embedding model when there is one."""
    cards = [_card(state)]
    if state.embeddings is not None:
        cards.append(_embedding_card(state))
    return {"object": "list", "data": cards}


@router.get("/v1/models/{model_id:path}")
def get_model(model_id: str, state: State) -> dict:
    if state.embeddings is not None and model_id == state.embeddings.model_id:
        return _embedding_card(state)
    state.check_model(model_id)
    return _card(state)


def _card(state: Served) -> dict:
    return {"id": state.model_id, "object": "model", "created": state.created,
            "owned_by": "lmforge", "max_model_len": state.context}  # fmt: skip


def _embedding_card(state: Served) -> dict:
    return {"id": state.embeddings.model_id, "object": "model", "created": state.created,
            "owned_by": "lmforge"}  # fmt: skip


@router.post("/tokenize")
def tokenize(body: TokenizeRequest, state: State) -> dict:
    """Token ids of a prompt, or of chat messages rendered with the generation prompt."""
    state.check_model(body.model)
    if (body.prompt is None) == (body.messages is None):
        raise APIError(400, "Give exactly one of `prompt` and `messages`.", "prompt")
    if body.messages is not None:
        ids = encode_prompt(state.tokenizer, template_messages(body.messages))
    else:
        tokens = state.tokenizer(body.prompt, add_special_tokens=body.add_special_tokens)
        ids = list(tokens["input_ids"])
    return {"count": len(ids), "max_model_len": state.context, "tokens": ids}


@router.post("/detokenize")
def detokenize(body: DetokenizeRequest, state: State) -> dict:
    state.check_model(body.model)
    state.check_ids(body.tokens, "tokens")
    return {"prompt": state.tokenizer.decode(body.tokens)}


def create_app(
    model_dir: str | Path | None = None,
    *,
    loaded=None,
    model_id: str | None = None,
    api_key: str | None = None,
    max_queue: int = 64,
    timeout: float = 60.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch: int = 8,
    batch_wait: float = 0.005,
    threads: int | None = None,
    embedder: str | None = "minilm",
    trace_db: str | Path | None = None,
    prompts_db: str | Path | None = None,
    workspace: str | Path | None = None,
    index: str | Path | None = None,
    adapter: str | Path | None = None,
) -> FastAPI:
    """An app serving the model in `model_dir` (or `loaded=(model, tokenizer)`).

    `adapter`: a PEFT adapter trained on `model_dir` (`lmforge sft --peft ...`), served on it
    under the adapter directory's name (its lineage must name this base).

    `embedder`: the /v1/embeddings model (`lmforge.embed` spec; None for none), loaded on
    first use. `trace_db`: record every request in this SQLite file (None: no tracing).
    `prompts_db`: the prompt registry (default $LMFORGE_PROMPTS_DB or ./lmforge-prompts.sqlite).
    `workspace`: a folder of artifacts the web UI's Runs tab shows; `index`: a RAG index
    directory the RAG tab (`POST /v1/rag/ask`) answers from with the served model.
    """
    # settings that can be wrong are checked before the model is loaded
    embeddings_model = Embeddings(embedder) if embedder else None
    prompts = PromptRegistry(prompts_db)
    ui = UISettings.check(workspace, index, model_dir)
    served_dir = adapter if adapter is not None else model_dir
    name = model_id or (Path(served_dir).resolve().name if served_dir is not None else "model")
    tracer = Tracer(trace_db, name, served_dir) if trace_db is not None else None
    if loaded is None and adapter is not None:
        from lmforge.train.merge import load_adapted

        loaded = load_adapted(model_dir, adapter)[:2]
    elif loaded is None:
        from lmforge.models.io import load_model

        loaded = load_model(model_dir)
    model, tokenizer = loaded
    model.eval()
    engine = Engine(model, tokenizer, max_queue, max_batch, batch_wait, threads)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        engine.start()
        if tracer is not None:
            tracer.start()
        try:
            yield
        finally:
            engine.stop()
            if tracer is not None:
                tracer.stop()

    app = FastAPI(title="lmforge serve", version="1", lifespan=lifespan,
                  summary="An OpenAI-compatible API for one lmforge model.")  # fmt: skip
    app.state.served = Served(engine, name, timeout, api_key, now(), embeddings_model, tracer,
                              prompts)  # fmt: skip
    app.state.ui = ui
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if tracer is not None:  # outside the body limit: it also sees what that refuses
        app.add_middleware(TraceMiddleware, tracer=tracer)
    app.include_router(router)
    for module in (chat, completions, embeddings, records, ui_routes, dashboard, rag):
        app.include_router(module.router, dependencies=[Depends(require_key)])
    app.add_api_route("/health", lambda: {"status": "ok"}, methods=["GET"])
    app.add_middleware(UIFiles)  # outermost: the page's files need no key and are not traced
    return app


def serve(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
    """Run the server until Ctrl-C (`lmforge serve`); `options` go to `create_app`."""
    import uvicorn

    app = create_app(model_dir, **options)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
