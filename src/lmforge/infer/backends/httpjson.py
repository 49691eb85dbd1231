"""JSON over HTTP with bounded retries: exponential backoff on 429, 5xx and connection errors.

Uses `httpx` when installed, else `httpx2` (the same API; transformers' huggingface_hub
depends on it, so it is always there). Errors a person can fix (unreachable server, wrong API
key, unknown model) become `LmforgeError`s that say so.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lmforge.errors import LmforgeError

try:
    import httpx
except ImportError:  # pragma: no cover - depends on the environment
    import httpx2 as httpx

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass
class RetryPolicy:
    max_retries: int = 3  # attempts after the first
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    backoff_max: float = 8.0

    def delay(self, attempt: int, response=None) -> float:
        wait = self.backoff * 2**attempt
        after = response.headers.get("retry-after") if response is not None else None
        if after is not None:
            with contextlib.suppress(ValueError):  # the server knows when it has room
                wait = float(after)
        return min(wait, self.backoff_max)


class JsonClient:
    """POSTs JSON to `base_url` + path; `post` returns the decoded body, `stream` SSE events."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float, retry: RetryPolicy):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.requests = 0  # attempts made, retries included

    def post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        response = self._send(path, body, what, stream=False)
        try:
            return response.json()
        except ValueError as e:
            raise LmforgeError(f"{self.base_url}{path} did not answer JSON ({e}).") from None

    def stream(self, path: str, body: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
        """The `data:` events of a server-sent-event response, decoded, until `[DONE]`."""
        response = self._send(path, body, what, stream=True)
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                yield json.loads(data)
        finally:
            response.close()

    def _send(self, path: str, body: dict[str, Any], what: str, stream: bool):
        """The first good response, retrying what may pass; only the last failure is raised."""
        for attempt in range(self.retry.max_retries + 1):
            last = attempt == self.retry.max_retries
            self.requests += 1
            try:
                request = self.client.build_request("POST", path, json=body)
                response = self.client.send(request, stream=stream)
            except (httpx.TransportError, httpx.TimeoutException) as e:
                if last:
                    raise self._unreachable(e, attempt + 1) from None
                time.sleep(self.retry.delay(attempt))
                continue
            if response.status_code < 400:
                return response
            if response.status_code in RETRY_STATUS and not last:
                response.close()
                time.sleep(self.retry.delay(attempt, response))
                continue
            raise self._http_error(response, path, what, attempt + 1)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _unreachable(self, error: Exception, attempts: int) -> LmforgeError:
        return LmforgeError(
            f"cannot reach {self.base_url} ({type(error).__name__}: {error}) after "
            f"{attempts} attempt(s).",
            "Check that the server is running and base_url (or OPENAI_BASE_URL) is right.",
        )

    def _http_error(self, response, path: str, what: str, attempts: int) -> LmforgeError:
        if stream_unread(response):
            response.read()
        detail = _message(response)
        status = response.status_code
        if status == 401:
            return LmforgeError(
                f"{self.base_url} rejected the API key (401: {detail}).",
                "Set api_key= or OPENAI_API_KEY to a valid key.",
            )
        if status == 404:
            return LmforgeError(
                f"{self.base_url}{path} answered 404 for {what}: {detail}.",
                "Check the model name and that the server offers this endpoint.",
            )
        tries = f" after {attempts} attempt(s)" if status in RETRY_STATUS else ""
        error = LmforgeError(f"{self.base_url}{path} answered {status}{tries}: {detail}.")
        error.status = status  # callers tell "not supported" (400) from other failures
        return error

    def close(self) -> None:
        self.client.close()


def stream_unread(response) -> bool:
    try:
        response.content  # noqa: B018 - raises when a streamed body was not read yet
    except httpx.ResponseNotRead:
        return True
    return False


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error or body)[:200]
