"""`lmforge serve` through the official `openai` client and raw HTTP, against a real server."""

from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest

from lmforge.eval.scoring import encode_pair, loglikelihoods
from lmforge.infer.generate import encode_prompt, stream_text

MESSAGES = [{"role": "user", "content": "the town of kamori"}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0,
                         timeout=30)  # fmt: skip


def local_reply(loaded, prompt, max_tokens: int) -> str:
    model, tokenizer = loaded
    return "".join(stream_text(model, tokenizer, prompt, max_tokens))


def test_models_list_and_openapi_spec(server, client):
    assert [m.id for m in client.models.list().data] == ["tiny", "minilm"]  # chat, embeddings
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/completions", "/tokenize"} <= set(spec["paths"])


def test_chat_equals_local_greedy_generation(client, loaded):
    reply = client.chat.completions.create(
        model="tiny", messages=MESSAGES, temperature=0, max_tokens=12
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == local_reply(loaded, MESSAGES, 12)
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens == len(encode_prompt(loaded[1], MESSAGES))
    assert reply.object == "chat.completion"


def test_chat_stream_matches_and_ends_with_usage_and_done(server, client):
    plain = client.chat.completions.create(
        model="tiny", messages=MESSAGES, temperature=0, max_tokens=12
    )
    chunks = list(
        client.chat.completions.create(
            model="tiny", messages=MESSAGES, temperature=0, max_tokens=12, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] == plain.choices[0].finish_reason and not any(reasons[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    body = {"model": "tiny", "messages": MESSAGES, "max_tokens": 4, "stream": True}
    raw = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=server.headers,
                     timeout=30)  # fmt: skip
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [line for line in raw.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][len("data: ") :])["object"] == "chat.completion.chunk"


def test_echo_logprobs_of_token_ids_equal_loglikelihoods(client, loaded):
    model, tokenizer = loaded
    pairs = [("the town of", " kamori lies"), ("its main export", " is copper")]
    expected = [value for value, _ in loglikelihoods(model, tokenizer, pairs)]
    encoded = [encode_pair(tokenizer, c, x) for c, x in pairs]
    reply = client.completions.create(
        model="tiny", prompt=[c + x for c, x in encoded], max_tokens=0, echo=True, logprobs=1,
        temperature=0,
    )  # fmt: skip
    assert len(reply.choices) == 2
    for choice, (ctx, cont), want in zip(reply.choices, encoded, expected, strict=True):
        lps = choice.logprobs.token_logprobs
        assert lps[0] is None and len(lps) == len(ctx) + len(cont)
        assert sum(lps[len(ctx) :]) == pytest.approx(want, abs=1e-4)
    # lm-evaluation-harness's local-completions: one prompt, max_tokens 1, slice [ctxlen:-1]
    ctx, cont = encoded[0]
    one = client.completions.create(
        model="tiny", prompt=ctx + cont, max_tokens=1, echo=True, logprobs=1, temperature=0
    )
    lps = one.choices[0].logprobs
    assert sum(lps.token_logprobs[len(ctx) : -1]) == pytest.approx(expected[0], abs=1e-4)
    assert all(len(top) >= 1 for top in lps.top_logprobs[1:])


def test_text_completion_equals_local_generation(client, loaded):
    reply = client.completions.create(
        model="tiny", prompt=["the town of", "its main"], max_tokens=8, temperature=0
    )
    assert [c.text for c in reply.choices] == [
        local_reply(loaded, "the town of", 8), local_reply(loaded, "its main", 8)
    ]  # fmt: skip


def test_typed_errors_from_the_official_client(server, client):
    bad_key = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.models.list()
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="nope", messages=MESSAGES, max_tokens=2)
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="tiny", messages=MESSAGES, temperature=5)
    assert e.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError, match="not supported yet"):
        client.chat.completions.create(model="tiny", messages=MESSAGES, stream=True, logprobs=True)


def test_raw_errors_are_openai_json(server):
    url, headers = server.url, server.headers
    big = {"model": "tiny", "prompt": "x" * 1_100_000}
    too_big = httpx.post(f"{url}/v1/completions", json=big, headers=headers, timeout=30)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_too_large"
    missing = httpx.post(f"{url}/v1/chat/completions", json={"model": "tiny"}, headers=headers)
    assert missing.status_code == 400
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    no_key = httpx.post(f"{url}/v1/completions", json={"model": "tiny", "prompt": "a"})
    assert no_key.status_code == 401
    no_tracing = httpx.get(f"{url}/v1/traces", headers=headers)  # this server traces nothing
    assert no_tracing.status_code == 404 and no_tracing.json()["error"]["code"] == "tracing_off"


def test_tokenize_detokenize_round_trip(server, loaded):
    url, headers = server.url, server.headers
    text = "the town of kamori 카모리"
    ids = httpx.post(f"{url}/tokenize", json={"model": "tiny", "prompt": text}, headers=headers)
    tokens = ids.json()["tokens"]
    assert tokens == list(loaded[1](text)["input_ids"]) and ids.json()["count"] == len(tokens)
    back = httpx.post(f"{url}/detokenize", json={"model": "tiny", "tokens": tokens},
                      headers=headers)  # fmt: skip
    assert back.json()["prompt"] == text
