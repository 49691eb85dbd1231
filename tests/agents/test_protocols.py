"""Parsing what models write: ReAct text, Toolformer inline calls, native tool_calls."""

from __future__ import annotations

import pytest

from lmforge.agents.builtin_tools import calculator_tool
from lmforge.agents.protocols import (
    assistant_message,
    call_at_end,
    find_inline_calls,
    native_calls,
    parse_react,
)
from lmforge.agents.tools import ToolRegistry
from lmforge.infer.backends.base import Completion

JSON_ARGS = '{"expression": "2+2"}'
CODE = "```python\nprint([1, 2])\n```"
ACTIONS = [
    (f" add them.\nAction: calculator {JSON_ARGS}", "calculator", JSON_ARGS),
    ("Action: calculator[2+2]", "calculator", "2+2"),
    ("Action: calculator(2+2)", "calculator", "2+2"),
    ("**Action:** `search`\n**Action Input:** Kamori copper", "search", "Kamori copper"),
    (f"Action: python\nAction Input: {CODE}", "python", CODE),
    (
        f"ACTION: calculator {JSON_ARGS}\nObservation: made up\nFinal Answer: 3",
        "calculator",
        JSON_ARGS,
    ),
    ("Action: python[x = [1, 2]; print(x)]", "python", "x = [1, 2]; print(x)"),
]


@pytest.mark.parametrize("reply, name, args_text", ACTIONS)
def test_react_actions_in_the_forms_models_write(reply, name, args_text):
    step = parse_react(reply)
    assert step.error is None and step.answer is None
    assert (step.call.name, step.call.args_text) == (name, args_text)


def test_react_final_answer_and_thought():
    step = parse_react(" I know this.\nFinal Answer: 5555\n")
    assert (step.thought, step.answer, step.call) == ("I know this.", "5555", None)
    first = parse_react("Final Answer: 4\nAction: calculator[2+2]")
    assert first.answer == "4" and first.call is None  # the first of the two counts


@pytest.mark.parametrize(
    "reply", ["", "just rambling", "Final Answer:   ", 'Action: {"x": 1}', "Observation: 5"]
)
def test_react_replies_without_a_step_are_errors_not_crashes(reply):
    step = parse_react(reply)
    assert step.call is None and step.answer is None
    assert "Action" in step.error


def test_inline_calls_with_nested_parentheses_and_quotes():
    text = 'Sum [calculator((1+2)*3)] and [search("a (b) ]")] and done [calculator(1) → 1].'
    calls = find_inline_calls(text)
    assert [(c.name, c.args_text) for _, _, c in calls] == [
        ("calculator", "(1+2)*3"),
        ("search", '"a (b) ]"'),
    ]  # the answered call (with its arrow) is not run again
    start, end, _ = calls[0]
    assert text[start:end] == "[calculator((1+2)*3)]"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("So it is [calculator(1234+4321)", ("calculator", "1234+4321")),
        ("So it is [calculator(1234+4321) ->", ("calculator", "1234+4321")),
        ("So it is [calculator(1234+4321) → ", ("calculator", "1234+4321")),
        ("So it is [calculator(1234+", None),  # still open
        ("It is [calculator(2) → 2] fine", None),  # answered, and text follows
        ("no call here", None),
    ],
)
def test_call_at_end(text, expected):
    call = call_at_end(text)
    assert (call.name, call.args_text) == expected if expected else call is None


def test_toolformer_call_runs_through_the_registry():
    registry = ToolRegistry([calculator_tool()])
    (_, _, call), = find_inline_calls("The total is [calculator(1234+4321)].")  # fmt: skip
    assert registry.call(call).content == "5555"


def _openai_reply(tool_calls, content=None) -> Completion:
    message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
    return Completion(content or "", raw={"choices": [{"message": message}]})


def test_native_tool_calls_are_read_from_the_reply():
    completion = _openai_reply([
        {"id": "c1", "type": "function",
         "function": {"name": "calculator", "arguments": '{"expression": "6*7"}'}},
        {"id": "c2", "function": {"name": "search", "arguments": {"query": "x"}}},
    ])  # fmt: skip
    calls = native_calls(completion)
    assert [(c.id, c.name, c.arguments, c.error) for c in calls] == [
        ("c1", "calculator", {"expression": "6*7"}, None),
        ("c2", "search", {"query": "x"}, None),
    ]
    message = assistant_message(completion)
    assert message["role"] == "assistant" and message["tool_calls"][0]["id"] == "c1"


@pytest.mark.parametrize(
    "function, error",
    [
        ({"name": "calculator", "arguments": '{"expression": "6*7"'}, "not valid JSON"),
        ({"name": "calculator", "arguments": "[1, 2]"}, "not a JSON object"),
        ({"arguments": "{}"}, "no function name"),
    ],
)
def test_malformed_native_calls_become_call_errors(function, error):
    (call,) = native_calls(_openai_reply([{"id": "c1", "function": function}]))
    assert error in call.error
    observation = ToolRegistry([calculator_tool()]).call(call)
    assert not observation.ran and error in observation.content


def test_replies_without_tool_calls_have_none():
    assert native_calls(Completion("plain text", raw=None)) == []
    assert native_calls(Completion("x", raw={"choices": []})) == []
    assert assistant_message(Completion("hi")) == {"role": "assistant", "content": "hi"}
