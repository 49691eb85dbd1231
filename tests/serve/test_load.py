"""The server under bounded concurrent load, and what happens to requests whose client leaves.

A burst of 24 requests from 12 threads at a server whose queue holds 3: each one is answered
in full (checked against the model's own greedy text) or refused with OpenAI's 429, none is
lost or a 5xx; memory stays flat from one burst to the next; the server answers afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import psutil
import pytest
from serve_support import running

from lmforge.infer.generate import stream_text
from lmforge.serve import create_app
from lmforge.serve.engine import Engine, Job
from lmforge.serve.model import Row

PROMPTS = ["the town of kamori", "its main export", "velden region", "copper and foxes"]
N_REQUESTS, CONCURRENCY, MAX_QUEUE, NEW = 24, 12, 3, 12


def body(i: int) -> dict:
    """Request i: greedy, cycling through the prompts; every third one streamed."""
    messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
    return {"model": "tiny", "messages": messages, "temperature": 0, "max_tokens": NEW,
            "stream": i % 3 == 0}  # fmt: skip


def send(client: httpx.Client, i: int) -> tuple[int, int, str | dict]:
    """(i, status, the streamed text or the JSON body)."""
    with client.stream("POST", "/v1/chat/completions", json=body(i)) as r:
        r.read()
        if r.status_code != 200 or not body(i)["stream"]:
            return i, r.status_code, r.json()
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"  # a stream that ended early would lack it
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    return i, 200, "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


def burst(url: str) -> list[tuple[int, int, str | dict]]:
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda i: send(client, i), range(N_REQUESTS)))


def check(results: list[tuple[int, int, str | dict]], expected: list[str]) -> tuple[int, int]:
    """(answered, refused); fails on anything that is neither a full answer nor a 429."""
    answered = refused = 0
    for i, status, got in results:
        want = expected[i % len(PROMPTS)]
        if status == 429:
            assert got["error"]["code"] == "queue_full"
            assert got["error"]["type"] == "rate_limit_error"
            refused += 1
            continue
        assert status == 200, got
        if isinstance(got, dict):
            assert got["choices"][0]["message"]["content"] == want
            assert got["usage"]["completion_tokens"] <= NEW
        else:
            assert got == want
        answered += 1
    return answered, refused


def test_a_burst_gets_full_answers_or_429s_and_memory_stays_flat(loaded):
    model, tokenizer = loaded
    expected = [
        "".join(stream_text(model, tokenizer, [{"role": "user", "content": p}], NEW))
        for p in PROMPTS
    ]
    app = create_app(loaded=loaded, model_id="tiny", max_queue=MAX_QUEUE, max_batch=4,
                     batch_wait=0.02, embedder=None, threads=1)  # fmt: skip
    engine, process = app.state.served.engine, psutil.Process()
    with running(app) as url:
        answered, refused = check(burst(url), expected)  # the first also warms allocations
        rss_warm = process.memory_info().rss
        more = check(burst(url), expected)
        grown = process.memory_info().rss - rss_warm
        with httpx.Client(base_url=url, timeout=30) as client:
            final = check([send(client, 1), send(client, 3)], expected)
    assert answered + refused == N_REQUESTS and refused > 0 and answered > MAX_QUEUE
    assert sum(more) == N_REQUESTS and more[1] > 0
    assert final == (2, 0)  # still serving, streamed or not, and correctly
    assert max(engine.batches) > 1  # the greedy requests that waited together ran together
    # the queue bounds what a burst can hold: no growth from one burst to the next
    assert grown < 10 * 2**20, f"RSS grew {grown / 2**20:.1f} MB over the second burst"


def long_body(seed: int) -> dict:
    return {"model": "tiny", "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.8, "seed": seed, "max_tokens": 250}  # fmt: skip


def timed(client: httpx.Client, path: str, request: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    reply = client.post(path, json=request)
    return reply.json(), time.perf_counter() - start


@pytest.mark.parametrize("route", ["chat", "completions"])
def test_a_client_that_leaves_cancels_its_non_streamed_request(loaded, route):
    app = create_app(loaded=loaded, model_id="tiny", embedder=None, threads=1)
    engine = app.state.served.engine
    path = "/v1/chat/completions"
    request = long_body(seed=7)
    if route == "completions":
        path, request = "/v1/completions", {**request, "prompt": "the town"}
        del request["messages"]
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        reply, took = timed(client, path, request)
        whole = reply["usage"]["completion_tokens"]
        assert whole > 200  # this seed writes long enough to be cut
        before = engine.generated
        with pytest.raises(httpx.ReadTimeout):  # leaves a fifth of the way in, however fast
            client.post(path, json=request, timeout=took / 5)
        client.post(path, json={**request, "max_tokens": 1})  # runs once the worker is free
    assert engine.generated - before - 1 < whole * 0.7  # cut short, not run to the end


def test_a_queued_request_whose_client_left_never_runs(loaded):
    app = create_app(loaded=loaded, model_id="tiny", embedder=None, threads=1)
    engine = app.state.served.engine
    path = "/v1/chat/completions"
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        took = timed(client, path, long_body(seed=7))[1]
        runs = len(engine.batches)
        with ThreadPoolExecutor(1) as pool:
            busy = pool.submit(client.post, path, json=long_body(seed=7))
            time.sleep(took / 10)  # the worker is on the first request now
            with pytest.raises(httpx.ReadTimeout):  # gone while the worker is still busy
                client.post(path, json=long_body(seed=4), timeout=took / 10)
            assert busy.result().status_code == 200
        runs = len(engine.batches) - runs
        client.post(path, json={**long_body(seed=5), "max_tokens": 1})
    assert runs == 1  # the abandoned request was skipped, not generated for nobody


def test_concurrent_greedy_streams_share_a_batch_and_each_gets_its_own_text(server, loaded):
    model, tokenizer = loaded
    expected = [
        "".join(stream_text(model, tokenizer, [{"role": "user", "content": p}], NEW))
        for p in PROMPTS
    ]
    before = len(server.engine.batches)
    client = httpx.Client(base_url=server.url, headers=server.headers, timeout=30)
    with client, ThreadPoolExecutor(len(PROMPTS)) as pool:
        results = list(pool.map(lambda i: send(client, i * 3), range(len(PROMPTS))))
    assert [text for _, _, text in results] == [expected[i * 3 % 4] for i in range(4)]
    assert max(server.engine.batches[before:]) > 1


def test_a_batch_waits_longer_for_as_many_clients_as_the_last_one_had():
    """After a batch of 3, the next waits up to `patience` (not just `batch_wait`) for 3."""
    engine = Engine(None, None, batch_wait=0.0, patience=0.6)

    def one() -> Job:
        return Job([Row([1], 1)])

    def queue_later(jobs: list[Job], delay: float) -> None:
        time.sleep(delay)
        for job in jobs:
            engine._queue.put(job)

    queue_later([one(), one(), one()], 0)
    assert len(engine._gather(engine._take())[0]) == 3  # queued already: taken at once
    late = threading.Thread(target=queue_later, args=([one(), one()], 0.1))
    late.start()
    second, held = engine._gather(one())  # batch_wait alone would have left at once
    late.join()
    assert len(second) == 3 and held is None
    assert len(engine._gather(one())[0]) == 1  # waited `patience` in vain: now expects 1
    start = time.monotonic()
    assert len(engine._gather(one())[0]) == 1 and time.monotonic() - start < 0.3
