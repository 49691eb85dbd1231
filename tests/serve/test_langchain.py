"""LangChain's `ChatOpenAI` pointed at a real server: invoke, stream, bind_tools.

For tools, the tiny model is taught (seconds of overfitting, as in test_serve_tools) to
answer "weather in kamori?" with a `get_weather` call under the exact prompt the server
renders for LangChain's own conversion of a Python function, so the `tool_calls` LangChain
returns come from what the model really generated.
"""

from __future__ import annotations

import json

import pytest
from serve_support import running
from test_serve_tools import overfit

from lmforge.infer.generate import render_prompt, stream_text
from lmforge.models.io import load_model
from lmforge.serve import create_app
from lmforge.serve.messages import template_messages
from lmforge.serve.schemas import ChatRequest
from lmforge.serve.tools import plan_tools
from lmforge.tokenizer.chat_template import IM_END

langchain_openai = pytest.importorskip("langchain_openai")

QUESTION = "weather in kamori?"
CALL = {"name": "get_weather", "arguments": {"town": "kamori"}}


def get_weather(town: str) -> str:
    """Weather of a town."""
    return f"sunny in {town}"


def chat_model(url: str, key: str, **options):
    return langchain_openai.ChatOpenAI(
        base_url=f"{url}/v1", api_key=key, model="tiny", max_retries=0, timeout=60, **options
    )


def test_invoke_and_stream_give_the_greedy_answer(server, loaded):
    model, tokenizer = loaded
    prompt = "the town of kamori"
    expected = "".join(stream_text(model, tokenizer, [{"role": "user", "content": prompt}], 12))
    llm = chat_model(server.url, server.key, temperature=0, max_tokens=12)
    reply = llm.invoke(prompt)
    assert reply.content == expected and expected
    assert reply.usage_metadata["output_tokens"] == 12
    assert reply.response_metadata["finish_reason"] == "length"
    chunks = list(llm.stream(prompt))
    pieces = [c.content for c in chunks if c.content]
    assert len(pieces) > 2  # the text came in pieces, as it was generated
    assert "".join(pieces) == expected


def test_a_wrong_key_raises_the_clients_error(server):
    import openai

    with pytest.raises(openai.AuthenticationError):
        chat_model(server.url, "wrong", max_tokens=1).invoke("hi")


@pytest.fixture(scope="module")
def tool_server(tiny_model_dir):
    """A server whose model answers QUESTION with CALL when offered LangChain's tool."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    model, tokenizer = load_model(tiny_model_dir)
    model.config.max_position_embeddings = 1024  # the tools section is long; rotary: any length
    tools = [convert_to_openai_tool(get_weather)]
    body = ChatRequest(model="tiny", messages=[{"role": "user", "content": QUESTION}], tools=tools)
    messages = template_messages(body.messages, plan_tools(body.tools, None))
    reply = f" {json.dumps(CALL)}{IM_END}"
    assert overfit(model, tokenizer, render_prompt(tokenizer, messages), reply) < 0.05
    app = create_app(loaded=(model, tokenizer), model_id="tiny", embedder=None, threads=1)
    with running(app) as url:
        yield url


@pytest.mark.parametrize("choice", [None, "get_weather"])
def test_bind_tools_returns_the_models_tool_call(tool_server, choice):
    llm = chat_model(tool_server, "-", temperature=0, max_tokens=60)
    reply = llm.bind_tools([get_weather], tool_choice=choice).invoke(QUESTION)
    assert reply.content == ""
    (call,) = reply.tool_calls
    assert call["name"] == "get_weather" and call["args"] == CALL["arguments"]
    assert call["id"].startswith("call_") and call["type"] == "tool_call"
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    assert get_weather.__name__ == call["name"] and get_weather(**call["args"]) == "sunny in kamori"


def test_streamed_tool_call_chunks_add_up_to_the_call(tool_server):
    llm = chat_model(tool_server, "-", temperature=0, max_tokens=60)
    chunks = list(llm.bind_tools([get_weather], tool_choice="get_weather").stream(QUESTION))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk  # how LangChain merges tool-call chunks
    assert len(chunks) > 3
    (call,) = whole.tool_calls
    assert (call["name"], call["args"]) == ("get_weather", CALL["arguments"])
