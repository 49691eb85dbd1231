"""`lmforge serve`: an OpenAI-compatible HTTP server for one model directory."""

from __future__ import annotations

from typing import Annotated

import typer

from lmforge.cli.options import ModelDir


def serve(
    model: ModelDir,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
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
) -> None:
    """Serve a model with the OpenAI API: /v1/chat/completions, /v1/completions, /v1/models."""
    from lmforge.serve import serve as run

    run(model, host=host, port=port, api_key=api_key, max_queue=max_queue, timeout=timeout,
        model_id=served_model_name)  # fmt: skip
