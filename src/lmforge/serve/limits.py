"""A request body size limit, as ASGI middleware: 413 in OpenAI's error JSON past the limit.

A declared `Content-Length` over the limit is refused before the body is read; a chunked body
is counted as it arrives and refused once it passes the limit, so no request can make the
server buffer more than `max_bytes`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

from lmforge.serve.errors import APIError


class BodyLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _error(self) -> APIError:
        return APIError(413, f"The request body is larger than {self.max_bytes} bytes.",
                        code="request_too_large")  # fmt: skip

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._error().response()(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # raised into the route; its handler answers 413
                    raise HTTPException(413, self._error().message)
            return message

        await self.app(scope, counted, send)
