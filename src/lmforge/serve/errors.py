"""Errors in OpenAI's wire format: `{"error": {"message", "type", "param", "code"}}`.

Every failure leaves the server as that JSON with the status OpenAI uses, so official clients
raise their typed errors (`BadRequestError`, `AuthenticationError`, ...). Validation errors are
400 (FastAPI's default is 422); unexpected exceptions are 500 with a fixed message, the
traceback only in the server's log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lmforge.errors import LmforgeError

log = logging.getLogger("lmforge.serve")

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    504: "timeout_error",
}


class APIError(Exception):
    """An error answered to the client as is: status, message, and OpenAI's param and code."""

    def __init__(self, status: int, message: str, param: str | None = None, code=None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        kind = TYPES.get(self.status, "invalid_request_error")
        return {
            "error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def from_exception(e: BaseException) -> APIError:
    """The APIError to answer for `e`: the user's mistakes are 400, the rest 500."""
    if isinstance(e, APIError):
        return e
    if isinstance(e, LmforgeError):
        return APIError(400, str(e))
    log.error("request failed", exc_info=e)
    return APIError(500, "The server had an error while processing your request.")


def _validation(_request: Request, e: RequestValidationError) -> JSONResponse:
    first = e.errors()[0] if e.errors() else {}
    if first.get("type") == "json_invalid" or tuple(first.get("loc", ())) == ("body",):
        message = "The request body must be a JSON object (Content-Type: application/json)."
        return APIError(400, message, code="invalid_json").response()
    loc = [str(part) for part in first.get("loc", ())[1:]]  # without "body" / "query"
    param = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    message = f"{param}: {message}" if param else message
    return APIError(400, message, param, "invalid_value").response()


def _http(_request: Request, e: HTTPException) -> JSONResponse:
    return APIError(e.status_code, str(e.detail)).response()


def _any(_request: Request, e: Exception) -> JSONResponse:
    return from_exception(e).response()


def install(app: FastAPI) -> None:
    """Route every kind of failure through OpenAI's error JSON."""
    app.add_exception_handler(APIError, lambda _r, e: e.response())
    app.add_exception_handler(LmforgeError, _any)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _any)
