"""OpenAI backend against a real HTTP server on 127.0.0.1 that serves a tiny lmforge model.

The server (stdlib `http.server` in a thread) answers chat completions, completions (with
echo + logprobs for prompt scoring) and SSE streams from the local backend, and can be told to
fail the next N requests with a status, to require an API key, or to refuse echo.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.infer.backends import load_backend
from lmforge.infer.backends.local import LocalBackend
from support import single_thread

MODEL = "tiny"


class ModelServer:
    """Serves `local` in OpenAI wire format; `fail(n, status)` fails the next n requests."""

    def __init__(self, local: LocalBackend) -> None:
        self.local, self.lock = local, threading.Lock()
        self.failures, self.status, self.api_key, self.echo = 0, 500, None, True
        self.seen = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def fail(self, n: int, status: int) -> None:
        self.failures, self.status = n, status

    def reply(self, path: str, body: dict, headers) -> tuple[int, object]:
        self.seen += 1
        if self.failures > 0:
            self.failures -= 1
            return self.status, {"error": {"message": f"planned {self.status}"}}
        if self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "bad key"}}
        if body.get("model") != MODEL:
            return 404, {"error": {"message": f"model {body.get('model')} not found"}}
        if path == "/v1/completions" and body.get("echo"):
            return (200, self.echo_logprobs(body["prompt"])) if self.echo else (400, {})
        prompt = body["messages"] if path == "/v1/chat/completions" else body["prompt"]
        options = {k: body.get(k) for k in ("temperature", "max_tokens", "stop", "seed")}
        with self.lock, single_thread():
            done = self.local.generate(prompt, **options)
        key = "message" if path == "/v1/chat/completions" else "text"
        choice = {
            key: {"role": "assistant", "content": done.text} if key == "message" else done.text
        }
        return 200, {
            "choices": [{**choice, "finish_reason": done.finish_reason}],
            "usage": done.usage,
        }

    def echo_logprobs(self, prompt: str) -> dict:
        tok, model = self.local.tokenizer, self.local.model
        enc = tok(prompt, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        with self.lock, single_thread(), torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        token_logprobs = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
        offsets = [start for start, _ in enc["offset_mapping"]]
        lp = {"tokens": [tok.decode([i]) for i in ids], "token_logprobs": token_logprobs,
              "text_offset": offsets}  # fmt: skip
        return {"choices": [{"text": prompt, "logprobs": lp, "finish_reason": "length"}]}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, payload = server.reply(self.path, body, self.headers)
                if status == 200 and body.get("stream"):
                    return self.sse(payload)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def sse(self, payload: dict) -> None:
                choice = payload["choices"][0]
                text = choice.get("text") or choice["message"]["content"]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i in range(0, len(text), 3):  # several pieces, as a real server sends
                    delta = {"delta": {"content": text[i : i + 3]}}
                    self.wfile.write(f"data: {json.dumps({'choices': [delta]})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler


@pytest.fixture(scope="module")
def local(tiny_model_dir):
    return LocalBackend(tiny_model_dir)


@pytest.fixture
def server(local):
    served = ModelServer(local)
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


def client(server, **options):
    return load_backend(f"openai/{MODEL}", base_url=server.url, backoff=0.01, **options)


def test_chat_completion_and_stream_match_the_local_model(server, local):
    messages = [{"role": "user", "content": "the town of"}]
    with single_thread():
        expected = local.generate(messages, max_tokens=8).text
    remote = client(server)
    assert remote.generate(messages, max_tokens=8).text == expected
    assert "".join(remote.stream(messages, max_tokens=8)) == expected
    with single_thread():
        plain = local.generate("the town of", max_tokens=6).text
    assert remote.generate("the town of", max_tokens=6).text == plain


def test_echo_logprobs_loglikelihood_equals_local(server, local):
    with single_thread():
        expected = local.loglikelihood("the town of", " kamori lies")
    got = client(server).loglikelihood("the town of", " kamori lies")
    assert got == pytest.approx(expected, abs=1e-4)
    assert got < 0


def test_retries_after_two_429s(server):
    server.fail(2, 429)
    remote = client(server)
    assert remote.generate("the town", max_tokens=2).text is not None
    assert remote.client.requests == 3


def test_500_forever_fails_after_the_configured_retries(server):
    server.fail(100, 500)
    with pytest.raises(LmforgeError, match=r"answered 500 after 3 attempt"):
        client(server, max_retries=2).generate("the town", max_tokens=2)
    assert server.seen == 3


def test_unreachable_port_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    remote = load_backend(f"openai/{MODEL}", base_url=f"http://127.0.0.1:{port}/v1",
                          max_retries=1, backoff=0.01)  # fmt: skip
    with pytest.raises(LmforgeError, match=r"cannot reach http://127\.0\.0\.1.*2 attempt"):
        remote.generate("hi", max_tokens=1)


def test_bad_key_unknown_model_and_no_echo(server):
    server.api_key = "secret"
    with pytest.raises(LmforgeError, match="rejected the API key"):
        client(server, api_key="wrong").generate("hi", max_tokens=1)
    with pytest.raises(LmforgeError, match="404"):
        load_backend("openai/nope", base_url=server.url, api_key="secret").generate("hi")
    server.echo = False
    with pytest.raises(LmforgeError, match="does not return prompt log-probabilities"):
        client(server, api_key="secret").loglikelihood("the town", " of")
