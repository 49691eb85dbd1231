"""`lmforge serve`: an OpenAI-compatible HTTP server and web UI for one model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforge.cli.options import ModelDir
from lmforge.errors import LmforgeError
from lmforge.prompting.registry import DEFAULT_DB, ENV_DB
from lmforge.serve.tracestore import DEFAULT_DB as DEFAULT_TRACE_DB
from lmforge.serve.vllm_engine import EngineName, serve_vllm


def serve(
    model: ModelDir,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    engine: Annotated[
        EngineName,
        typer.Option(help="local: built in (CPU or GPU); vllm: hand serving to vLLM (GPU)."),
    ] = EngineName.local,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="LMFORGE_API_KEY", help="Require this bearer key."),
    ] = None,
    max_queue: Annotated[
        int, typer.Option("--max-queue", help="Requests that may wait; more get 429.")
    ] = 64,
    timeout: Annotated[float, typer.Option(help="Seconds a request may take (then 504).")] = 60.0,
    served_model_name: Annotated[
        str | None,
        typer.Option("--served-model-name", help="Model id clients use (default: dir name)."),
    ] = None,
    embedder: Annotated[
        str,
        typer.Option(help="/v1/embeddings model: minilm, a sentence-transformers DIR, or none."),
    ] = "minilm",
    trace_db: Annotated[
        Path, typer.Option("--trace-db", help="SQLite file every request is traced into.")
    ] = Path(DEFAULT_TRACE_DB),
    no_trace: Annotated[bool, typer.Option("--no-trace", help="Do not trace requests.")] = False,
    prompts_db: Annotated[
        Path | None,
        typer.Option("--prompts-db", envvar=ENV_DB, help=f"Prompt registry (./{DEFAULT_DB})."),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(help="Folder of artifacts the web UI's Runs tab shows (lineage, losses)."),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(help="RAG index the web UI's RAG tab (POST /v1/rag/ask) answers from."),
    ] = None,
    adapter: Annotated[
        Path | None,
        typer.Option(help="A PEFT adapter trained on --model (lmforge sft --peft), served on it."),
    ] = None,
) -> None:
    """Serve a model with the OpenAI API (chat with tools, completions, embeddings, traces)
    and a web UI at / (chat playground, runs dashboard, traces, RAG)."""
    if engine is EngineName.vllm and adapter is not None:
        raise LmforgeError(
            "--engine vllm serves one merged model, not a base with an adapter.",
            f"Run `lmforge merge --model {model} --adapter {adapter} --out merged/` first.",
        )
    if engine is EngineName.vllm:  # host, port, key and model id carry over; the rest is local
        raise typer.Exit(serve_vllm(model, host, port, api_key, served_model_name))
    from lmforge.serve import serve as run

    run(model, host=host, port=port, api_key=api_key, max_queue=max_queue, timeout=timeout,
        model_id=served_model_name, embedder=None if embedder == "none" else embedder,
        trace_db=None if no_trace else trace_db, prompts_db=prompts_db, workspace=workspace,
        index=index, adapter=adapter)  # fmt: skip
