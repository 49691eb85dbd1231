"""Tool calling through the official `openai` client, against a real server.

The tiny model is first taught (a few seconds of overfitting) to answer "weather in kamori?"
with `{"name": "get_weather", "arguments": {"town": "kamori"}}` under the server's own tools
prompt, so every `tool_choice` can be checked on what a model really generated.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx2 as httpx
import openai
import pytest
import torch
from serve_support import running

from lmforge.agents.protocols import native_calls
from lmforge.infer.backends import load_backend
from lmforge.infer.generate import render_prompt
from lmforge.models.io import load_model
from lmforge.serve import create_app
from lmforge.serve.messages import template_messages
from lmforge.serve.schemas import ChatRequest
from lmforge.serve.tools import plan_tools
from lmforge.tokenizer.chat_template import IM_END

KEY = "tools-key"
MESSAGES = [{"role": "user", "content": "weather in kamori?"}]
CALL = {"name": "get_weather", "arguments": {"town": "kamori"}}


def tool(name: str, description: str, arg: str) -> dict:
    parameters = {"type": "object", "properties": {arg: {"type": "string"}}, "required": [arg]}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


TOOLS = [
    tool("get_weather", "Weather of a town", "town"),
    tool("get_time", "Time in a zone", "zone"),
]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def overfit(model, tokenizer, prompt: str, reply: str, max_steps: int = 200) -> float:
    """Train on one (prompt, reply) pair until the reply's loss is near zero."""
    n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    ids = torch.tensor([tokenizer(prompt + reply, add_special_tokens=False)["input_ids"]])
    labels = ids.clone()
    labels[:, :n_prompt] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-3)
    model.train()
    for _ in range(max_steps):
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if loss.item() < 0.01:
            break
    model.eval()
    return loss.item()


@pytest.fixture(scope="module")
def tool_model(tiny_model_dir):
    """The tiny model with a 1024-token window (the tools section alone is ~250 tokens of the
    test vocabulary), taught to answer MESSAGES with CALL."""
    model, tokenizer = load_model(tiny_model_dir)
    model.config.max_position_embeddings = 1024  # rotary positions: any length works
    body = ChatRequest(model="tiny", messages=MESSAGES, tools=TOOLS)
    messages = template_messages(body.messages, plan_tools(body.tools, None))
    loss = overfit(
        model, tokenizer, render_prompt(tokenizer, messages), f" {json.dumps(CALL)}{IM_END}"
    )
    assert loss < 0.05
    return model, tokenizer


@pytest.fixture(scope="module")
def server(tool_model, tmp_path_factory):
    db = tmp_path_factory.mktemp("traces") / "traces.sqlite"
    app = create_app(
        loaded=tool_model, model_id="tiny", api_key=KEY, embedder=None, trace_db=db, threads=1
    )
    with running(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)
        yield SimpleNamespace(url=url, client=client, headers={"Authorization": f"Bearer {KEY}"})


def ask(server, **options):
    options = {
        "model": "tiny",
        "messages": MESSAGES,
        "tools": TOOLS,
        "temperature": 0,
        "max_tokens": 60,
        **options,
    }
    return server.client.chat.completions.create(**options)


@pytest.mark.parametrize("choice", ["auto", "required", NAMED])
def test_every_tool_choice_returns_the_call_the_model_makes(server, choice):
    reply = ask(server, tool_choice=choice)
    choice0 = reply.choices[0]
    assert choice0.finish_reason == "tool_calls" and choice0.message.content is None
    (call,) = choice0.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == CALL["arguments"]


def test_required_picks_the_likelier_function_and_none_never_calls(server):
    # only get_time offered: `required` must call it, however unlikely the model finds it
    forced = ask(server, tools=TOOLS[1:], tool_choice="required").choices[0]
    assert forced.message.tool_calls[0].function.name == "get_time"
    both = ask(server, tool_choice="required", n=2).choices
    assert [c.message.tool_calls[0].function.name for c in both] == ["get_weather"] * 2
    none = ask(server, tool_choice="none")
    assert none.choices[0].message.tool_calls is None
    assert none.choices[0].finish_reason in ("stop", "length")
    auto = ask(server, max_tokens=1)
    assert none.usage.prompt_tokens < auto.usage.prompt_tokens  # no tools section in the prompt


def test_calls_cut_by_the_budget_are_repaired_or_returned_as_text(server):
    full = json.dumps(CALL["arguments"])
    outcomes = set()
    for budget in range(2, 14):
        choice = ask(server, tool_choice=NAMED, max_tokens=budget).choices[0]
        arguments = choice.message.tool_calls[0].function.arguments
        try:
            valid = isinstance(json.loads(arguments), dict)
        except json.JSONDecodeError:
            valid = False
        assert (choice.finish_reason == "tool_calls") is valid
        if not valid:
            assert choice.finish_reason == "length" and full.startswith(arguments)
        outcomes.add(valid)
    assert outcomes == {True, False}  # some cuts were closed, others could not be


@pytest.mark.parametrize(("choice", "budget"), [(NAMED, 60), (NAMED, 9), ("auto", 60)])
def test_streamed_tool_call_deltas_add_up_to_the_call(server, choice, budget):
    plain = ask(server, tool_choice=choice, max_tokens=budget).choices[0]
    chunks = list(ask(server, tool_choice=choice, max_tokens=budget, stream=True))
    deltas = [c.choices[0].delta for c in chunks]
    calls = [call for d in deltas for call in d.tool_calls or []]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    assert all(call.index == 0 for call in calls) and not any(d.content for d in deltas)
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert arguments == plain.message.tool_calls[0].function.arguments
    reasons = [c.choices[0].finish_reason for c in chunks]
    assert reasons[-1] == plain.finish_reason and not any(reasons[:-1])
    if choice == NAMED:
        assert len(calls) > 2  # the arguments came as the model wrote them


def test_history_with_tool_calls_and_results_is_rendered(server):
    history = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"town": "kamori"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "clear"}'},
    ]
    reply = ask(server, messages=history, max_tokens=4)
    assert reply.choices[0].finish_reason in ("stop", "length", "tool_calls")
    traces = httpx.get(f"{server.url}/v1/traces", params={"limit": 1}, headers=server.headers)
    prompt = traces.json()["data"][0]["prompt"]
    assert f"assistant: {json.dumps(CALL)}" in prompt
    assert 'user: Tool get_weather (call_1) returned:\n{"sky": "clear"}' in prompt
    assert prompt.index("You can call these tools") < prompt.index("weather in kamori?")


def test_invalid_tools_are_bad_requests(server):
    bad_name = [{"type": "function", "function": {"name": "get weather"}}]
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, tools=bad_name)
    assert e.value.body["param"] == "tools.0.function.name"
    bad_schema = [tool("get_weather", "w", "town")]
    bad_schema[0]["function"]["parameters"]["required"] = ["city"]
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, tools=bad_schema)
    assert e.value.body["param"] == "tools.0.function.parameters.required"
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, tool_choice={"type": "function", "function": {"name": "launch"}})
    assert e.value.body["param"] == "tool_choice.function.name"
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, messages=[*MESSAGES, {"role": "tool", "content": "x"}])
    assert e.value.body["param"] == "messages.1.tool_call_id"


def test_lmforge_openai_backend_sends_tools_and_reads_tool_calls(server):
    backend = load_backend("openai/tiny", base_url=f"{server.url}/v1", api_key=KEY)
    assert "tools" in backend.capabilities
    done = backend.generate(MESSAGES, tools=TOOLS, max_tokens=60)
    assert done.finish_reason == "tool_calls"
    (call,) = native_calls(done)
    assert (call.name, call.arguments, call.error) == ("get_weather", CALL["arguments"], None)
