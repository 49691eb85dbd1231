"""Request tracing: every API request becomes a row of the trace database, off the request path.

`TraceMiddleware` (ASGI) times each request, keeps its body and status, and, when the last
byte of the response has gone (or the client went away), hands one record to the `Tracer`.
Routes add what only they know through `note(request, ...)`: the response id, the prompt as
the model saw it, the output, token counts. The tracer's queue is bounded and `put` never
blocks: JSON encoding and SQLite writes happen in its own thread, in batches, so a request
pays a dict and a queue put. If the writer falls `max_pending` records behind, new records
are dropped and counted (`Tracer.dropped`) rather than slowing requests down.
`/health`, the OpenAPI pages and `/v1/traces` itself are not traced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from starlette.requests import Request

from lmforge.runs import read_manifest
from lmforge.serve import tracestore
from lmforge.serve.worker import QueueWorker

log = logging.getLogger("lmforge.serve")
UNTRACED = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/v1/traces"}
MAX_BODY = 1_000_000  # bytes of a request body kept in a trace (an 8 MB prompt is cut)
BATCH = 256


class Tracer(QueueWorker):
    """Writes trace records to the SQLite file `path` from one background thread."""

    thread_name = "lmforge-tracer"

    def __init__(self, path: str | Path, model_id: str, model_dir: str | Path | None = None,
                 max_pending: int = 10_000) -> None:  # fmt: skip
        self.path = Path(path)
        manifest = read_manifest(model_dir) if model_dir is not None else None
        where = str(Path(model_dir).resolve()) if model_dir is not None else None
        identity = json.dumps([model_id, where, manifest], sort_keys=True)
        self.model_key = hashlib.sha256(identity.encode()).hexdigest()[:16]
        with closing(tracestore.connect(self.path, create=True)) as db:  # bad paths fail here
            tracestore.add_model(db, self.model_key, model_id, where, manifest)
        self.dropped = 0
        self._queue: queue.Queue = queue.Queue(max_pending)

    def record(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every record queued so far is in the file."""
        if self._thread is None:
            return
        written = threading.Event()
        try:
            self._queue.put(written, timeout=timeout)
        except queue.Full:
            return
        written.wait(timeout)

    def read(self, limit: int, offset: int) -> tuple[list[dict], int]:
        """Newest first, after a flush, so a client reads its own requests."""
        self.flush()
        with closing(tracestore.connect(self.path)) as db:
            return tracestore.read_traces(db, limit, offset)

    def _work(self) -> None:
        with closing(tracestore.connect(self.path)) as db:
            while True:
                items = [self._queue.get()]
                while len(items) < BATCH:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                records = [self._row(i) for i in items if isinstance(i, dict)]
                try:
                    if records:
                        tracestore.insert(db, records)
                except Exception:  # a full disk must not take the server down
                    log.exception("could not write %d trace(s) to %s", len(records), self.path)
                for item in items:
                    if isinstance(item, threading.Event):
                        item.set()
                if None in items:
                    return

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        """The database row of a record: JSON columns encoded here, off the request path."""
        request = _body(record.pop("body", b""))
        params = None
        if isinstance(request, dict):
            params = {k: v for k, v in request.items() if k not in ("messages", "input")
                      and not (k == "prompt" and not isinstance(v, dict))}  # fmt: skip
        prompt = record.get("prompt")
        return {
            **record,
            "model_key": self.model_key,
            "request": _json(request),
            "params": _json(params),
            "prompt": prompt if isinstance(prompt, str | None) else _json(prompt),
            "output": _json(record.get("output")),
        }


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:MAX_BODY].decode("utf-8", errors="replace")


def note(request: Request, **fields: Any) -> None:
    """Add what the route knows (id, model, prompt, output, token counts) to its trace."""
    trace = request.scope.get("state", {}).get("trace")
    if trace is not None:
        trace.update(fields)


class TraceMiddleware:
    """Times each request and hands its record to `tracer` once the response is over."""

    def __init__(self, app, tracer: Tracer) -> None:
        self.app, self.tracer = app, tracer

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED:
            return await self.app(scope, receive, send)
        trace: dict[str, Any] = {}
        scope.setdefault("state", {})["trace"] = trace
        start, body, answer = time.perf_counter(), bytearray(), bytearray()
        status: int | None = None
        finished = False

        def finish(error: str | None = None) -> None:
            nonlocal finished
            finished = True
            self.tracer.record(_record(scope, trace, start, bytes(body), status, answer, error))

        async def receive_body():
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_BODY:
                body.extend(message.get("body", b"")[: MAX_BODY - len(body)])
            return message

        async def send_timed(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body":
                if status is not None and status >= 400 and len(answer) < MAX_BODY:
                    answer.extend(message.get("body", b""))
                if not message.get("more_body") and not finished:
                    finish()

        try:
            await self.app(scope, receive_body, send_timed)
        except BaseException as e:
            if not finished:
                status = status if status is not None and status >= 400 else 500
                finish(f"{type(e).__name__}: {e}")
            raise
        if not finished:
            finish("the client went away before the response ended")


def _record(scope, trace: dict, start: float, body: bytes, status, answer: bytearray,
            error: str | None) -> dict[str, Any]:  # fmt: skip
    elapsed = time.perf_counter() - start
    output = trace.get("output")
    if answer:  # an error answer: keep OpenAI's error JSON and its message
        output = _body(bytes(answer))
        if isinstance(output, dict) and isinstance(output.get("error"), dict):
            error = error or output["error"].get("message")
    return {
        "id": trace.get("id") or f"trace-{uuid.uuid4().hex[:24]}",
        "created": time.time() - elapsed,
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "model": trace.get("model"),
        "body": body,
        "prompt": trace.get("prompt"),
        "output": output,
        "prompt_tokens": trace.get("prompt_tokens"),
        "completion_tokens": trace.get("completion_tokens"),
        "latency_ms": round(elapsed * 1000, 3),
        "error": error,
    }
