"""The engine under load: a full queue answers 429, greedy requests are batched, a client
that goes away stops its stream, a slow request times out."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import openai
import pytest
from serve_support import running

from lmforge.infer.generate import stream_text
from lmforge.serve import create_app

LONG = {"temperature": 0.8, "max_tokens": 200}


def ask(url: str, content: str, key: str = "-", **options):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    messages = [{"role": "user", "content": content}]
    return client.chat.completions.create(model="tiny", messages=messages, **options)


def test_full_queue_answers_429_and_every_accepted_request_is_answered(loaded):
    app = create_app(loaded=loaded, model_id="tiny", max_queue=1, threads=1)
    with running(app) as url, ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(ask, url, f"town {i}", seed=i, **LONG) for i in range(8)]
        done, refused = [], 0
        for future in futures:
            try:
                done.append(future.result())
            except openai.RateLimitError as e:
                assert e.body["code"] == "queue_full"
                refused += 1
    assert refused >= 1 and len(done) >= 2 and len(done) + refused == 8
    assert all(reply.choices[0].message.content for reply in done)


def test_concurrent_greedy_requests_share_a_batch_and_answer_as_alone(server, loaded):
    prompts = ["the town of kamori", "its main export", "velden region", "copper"]
    model, tokenizer = loaded
    expected = [
        "".join(stream_text(model, tokenizer, [{"role": "user", "content": p}], 10))
        for p in prompts
    ]
    before, greedy = len(server.engine.batches), {"temperature": 0, "max_tokens": 10}
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda p: ask(server.url, p, server.key, **greedy), prompts))
    assert [r.choices[0].message.content for r in replies] == expected
    assert max(server.engine.batches[before:]) > 1


def test_client_disconnect_stops_the_stream(loaded):
    app = create_app(loaded=loaded, model_id="tiny", threads=1)
    engine = app.state.served.engine
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "temperature": 0.8, "max_tokens": 250}  # fmt: skip
    with running(app) as url:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
            next(r.iter_lines())  # the first event: generation has started
        time.sleep(0.3)
        ask(url, "after", temperature=0, max_tokens=1)  # served once the worker is free
    assert engine.generated < 250


def test_a_request_past_its_timeout_gets_504(loaded):
    app = create_app(loaded=loaded, model_id="tiny", timeout=0.05, threads=1)
    with running(app) as url, pytest.raises(openai.APIStatusError) as e:
        ask(url, "slow", temperature=0.8, max_tokens=250)
    assert e.value.status_code == 504
