"""Read-only routes over the server's two SQLite files: traces and the prompt registry.

- `GET /v1/traces?limit=20&offset=0`: the newest traces first (`data`), with `total`,
  `has_more` and `dropped` (records the tracer had to drop under overload); 404 when the
  server runs with `--no-trace`;
- `GET /v1/prompts`: the latest version of every registry template;
- `GET /v1/prompts/{name}` (`?version=N`, or `name@N`): one version, with its variables.
All need the API key when the server has one.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from lmforge.errors import LmforgeError
from lmforge.prompting.registry import PromptVersion
from lmforge.serve.errors import APIError
from lmforge.serve.state import State

router = APIRouter()


@router.get("/v1/traces")
def list_traces(
    state: State,
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict:
    """Recorded requests, newest first."""
    if state.tracer is None:
        raise APIError(404, "Tracing is off on this server (it was started with --no-trace).",
                       code="tracing_off")  # fmt: skip
    data, total = state.tracer.read(limit, offset)
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset,
            "has_more": offset + len(data) < total, "dropped": state.tracer.dropped}  # fmt: skip


@router.get("/v1/prompts")
def list_prompts(state: State) -> dict:
    """The latest version of each prompt in the registry."""
    return {"object": "list", "data": [_card(p) for p in state.prompts.list_prompts()]}


@router.get("/v1/prompts/{name}")
def get_prompt(name: str, state: State, version: int | None = Query(None, ge=1)) -> dict:
    """One version of a prompt (the latest unless `version` or `name@N` says otherwise)."""
    try:
        found = state.prompts.get(name, version)
    except LmforgeError as e:
        raise APIError(404, str(e), "name", "prompt_not_found") from None
    versions = [v.version for v in state.prompts.versions(found.name)]
    return {**_card(found), "versions": versions}


def _card(prompt: PromptVersion) -> dict:
    return {"object": "prompt", **prompt.to_json()}
