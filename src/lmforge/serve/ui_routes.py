"""The web UI: its static files (`GET /`, `GET /ui/...`) and what it asks first (`GET /v1/ui`).

The page is plain HTML, CSS and ES modules in `lmforge/serve/ui/` (package data, no build
step, nothing fetched from a CDN). `UIFiles` serves them in front of the API stack: the files
are the same for everyone and hold no data, so they need no key and are not traced; every
call the page makes for data goes through the API routes and needs the key when the server
has one (the page asks for it and sends it as `Authorization: Bearer`). The page is sent with
a Content-Security-Policy that allows only this server's own scripts, styles and requests.
`GET /v1/ui` tells the page what this server offers: the model, tracing, the workspace
(`/v1/runs`, `serve.dashboard`) and the RAG index (`/v1/rag/ask`, `serve.rag`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from lmforge.errors import LmforgeError
from lmforge.serve.errors import APIError
from lmforge.serve.state import State

router = APIRouter()
UI_DIR = Path(str(files("lmforge.serve") / "ui"))
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}  # fmt: skip
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",  # revalidate: an upgraded lmforge serves its new page
}


@dataclass
class UISettings:
    """What the UI shows besides the model: a workspace of artifacts, a RAG index."""

    workspace: Path | None = None
    index: object | None = None  # lmforge.rag.Index
    index_path: Path | None = None
    model_dir: Path | None = None  # where the served model came from (None: given loaded)

    @classmethod
    def check(cls, workspace: str | Path | None, index: str | Path | None,
              model_dir: str | Path | None = None) -> UISettings:  # fmt: skip
        """Settings that fail early (before the model loads) when a path is wrong."""
        if workspace is not None:
            workspace = Path(workspace).expanduser()
            if not workspace.is_dir():
                raise LmforgeError(
                    f"--workspace {workspace} is not a directory.",
                    "Give the folder that holds your lmforge artifacts.",
                )
        opened = None
        if index is not None:
            from lmforge.rag import Index

            index = Path(index).expanduser()
            opened = Index(index, create=False)  # refuses a folder without index.json
        return cls(workspace, opened, index, Path(model_dir) if model_dir is not None else None)


@router.get("/v1/ui")
def ui_config(request: Request, state: State) -> dict:
    """What this server offers the web UI."""
    ui: UISettings = request.app.state.ui
    index = None
    if ui.index is not None:
        index = {"path": str(ui.index_path), "chunks": len(ui.index)}
    embeddings = state.embeddings.model_id if state.embeddings is not None else None
    return {"object": "ui.config", "model": state.model_id, "models": [state.model_id],
            "max_model_len": state.context, "tracing": state.tracer is not None,
            "embeddings": embeddings, "index": index,
            "workspace": str(ui.workspace.resolve()) if ui.workspace else None}  # fmt: skip


class UIFiles:
    """ASGI middleware: answers `/` and `/ui/<file>` from UI_DIR, passes the rest on."""

    def __init__(self, app, directory: Path = UI_DIR) -> None:
        self.app, self.directory = app, directory

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/" or path.startswith("/ui/"):
            await self.response(path, scope["method"])(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def response(self, path: str, method: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _error(405, "The web UI's files are read with GET.")
        name = "index.html" if path == "/" else path.removeprefix("/ui/")
        file = self.directory / name
        # only plain names of files that ship: no folders, no '..', no dotfiles
        if "/" in name or name.startswith(".") or file.suffix not in TYPES or not file.is_file():
            return _error(404, f"The web UI has no file {name!r}.")
        return Response(file.read_bytes(), media_type=TYPES[file.suffix], headers=HEADERS)


def _error(status: int, message: str) -> JSONResponse:
    return APIError(status, message).response()
