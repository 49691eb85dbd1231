"""Reading and repairing tool calls in generated text, and the tools' validation (no server)."""

from __future__ import annotations

import itertools
import json

import pytest

from lmforge.serve.errors import APIError
from lmforge.serve.schemas import ChatRequest
from lmforge.serve.toolcalls import (
    ArgumentStream,
    arguments_text,
    complete_arguments,
    json_close,
    parse_free_reply,
)
from lmforge.serve.tools import forced_prefix, plan_tools

NAMES = {"get_weather", "get_time"}


def test_json_close_finds_the_end_of_a_forced_call_outside_strings():
    reply = ' {"town": "a}b", "n": [1, {"x": 2}]}} and more'
    end = json_close(reply, 1)
    assert reply[: end + 1] == ' {"town": "a}b", "n": [1, {"x": 2}]}}'
    assert json_close(' {"town": "kam', 1) is None
    assert forced_prefix("get_weather") == '{"name": "get_weather", "arguments":'


@pytest.mark.parametrize(
    ("generated", "arguments", "valid"),
    [
        (' {"town": "kamori"}}', '{"town": "kamori"}', True),
        (' {"town": "kam', '{"town": "kam"}', True),  # cut by the token budget: closed
        (' {"town": "kamori", "days": [1, 2', '{"town": "kamori", "days": [1, 2]}', True),
        (' {"town": "kamori",\n', '{"town": "kamori"}', True),  # a trailing comma is dropped
        (' {"town":', '{"town": null}', True),
        (' {"town', '{"town', False),  # a key cut short cannot be repaired: kept as text
        (' "kamori"}', '"kamori"', False),  # not an object
        (" ]]", "", False),
    ],
)
def test_forced_arguments_are_repaired_by_appending_only(generated, arguments, valid):
    assert complete_arguments(arguments_text(generated)) == (arguments, valid)
    stream = ArgumentStream()
    cuts = [0, 3, 4, 9, len(generated)]
    sent = "".join(stream.feed(generated[a:b]) for a, b in itertools.pairwise(cuts))
    last, whole, ok = stream.end()
    assert sent + last == whole == arguments and ok is valid


def test_free_replies_become_calls_only_when_they_are_calls_of_offered_tools():
    call = '{"name": "get_weather", "arguments": {"town": "kamori"}}'
    parsed = parse_free_reply(f"  {call}\n", NAMES)
    assert parsed == [{"name": "get_weather", "arguments": '{"town": "kamori"}'}]
    assert parse_free_reply(f"```json\n{call}\n```", NAMES) == parsed
    two = parse_free_reply(f'[{call}, {{"name": "get_time", "arguments": "{{}}"}}]', NAMES)
    assert [c["name"] for c in two] == ["get_weather", "get_time"] and two[1]["arguments"] == "{}"
    assert parse_free_reply(call + "\n" + call, NAMES) == parsed * 2
    assert parse_free_reply(call[:-2], NAMES) == parsed  # truncated: closed
    assert parse_free_reply('{"name": "delete_all", "arguments": {}}', NAMES) is None
    assert parse_free_reply('{"name": "get_time", "arguments": 3}', NAMES) is None
    assert parse_free_reply(f"Sure. {call}", NAMES) is None  # text first: a text reply
    assert parse_free_reply("the town of kamori", NAMES) is None


def _tools(parameters=None, name="get_weather") -> list[dict]:
    function = {"name": name, "description": "Weather of a town"}
    if parameters is not None:
        function["parameters"] = parameters
    return [{"type": "function", "function": function}]


def _plan(tools, choice=None):
    body = ChatRequest(
        model="m", messages=[{"role": "user", "content": "hi"}], tools=tools, tool_choice=choice
    )
    return plan_tools(body.tools, body.tool_choice, body.parallel_tool_calls)


@pytest.mark.parametrize(
    ("parameters", "choice", "param"),
    [
        ({"type": "array"}, None, "tools.0.function.parameters"),
        (
            {"type": "object", "properties": {"t": {"type": "strnig"}}},
            None,
            "tools.0.function.parameters.properties.t.type",
        ),
        (
            {"type": "object", "properties": {}, "required": ["town"]},
            None,
            "tools.0.function.parameters.required",
        ),
        (
            {"type": "object", "properties": {"t": {"anyOf": []}}},
            None,
            "tools.0.function.parameters.properties.t.anyOf",
        ),
        (None, "sometimes", "tool_choice"),
        (None, {"type": "function", "function": {"name": "nope"}}, "tool_choice.function.name"),
    ],
)
def test_invalid_tools_are_400_naming_the_field(parameters, choice, param):
    with pytest.raises(APIError) as e:
        _plan(_tools(parameters), choice)
    assert e.value.status == 400 and e.value.param == param


def test_tool_plans():
    schema = {"type": "object", "properties": {"town": {"type": "string"}}, "required": ["town"]}
    assert _plan(_tools(schema)).mode == "auto"
    named = _plan(_tools(schema), {"type": "function", "function": {"name": "get_weather"}})
    assert (named.mode, named.forced) == ("named", "get_weather")
    assert _plan(_tools()).functions[0]["parameters"] == {"type": "object", "properties": {}}
    assert _plan(None).mode == "none"
    with pytest.raises(APIError, match="needs `tools`"):
        _plan(None, "required")
    with pytest.raises(APIError, match="Two tools"):
        _plan(_tools() + _tools())
    assert json.loads(json.dumps(_plan(_tools(schema)).functions))[0]["name"] == "get_weather"
