"""The lab's tool-use SFT data (sft/tools.jsonl) against the agents' inline protocol.

Every record must be exactly what `ReActAgent(protocol="inline")` produces when a model writes
the call: the text up to the arrow parses as a calculator call, the calculator gives the
recorded result, and the agent's final answer is the recorded reply. Then a tiny model
fine-tuned on a few records runs the loop in chat mode and makes the same call.
"""

from __future__ import annotations

import re

import pytest

from lmforge.agents import Budget, ReActAgent, load_tools
from lmforge.agents.calculator import calculate, format_number
from lmforge.agents.protocols import call_at_end
from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend, load_backend
from lmforge.jsonl import read_jsonl as read
from lmforge.train.config import TrainConfig
from lmforge.train.sft import sft
from support import single_thread

REPLY = re.compile(r"^\[calculator\( (\d{4} [+-] \d{4})\) → (\d+)\]$")
HANGUL = re.compile("[\uac00-\ud7a3]")


def test_every_tool_record_is_a_calculator_call_with_the_right_result(small_lab):
    records = read(small_lab / "sft/tools.jsonl")
    test_questions = {r["question"] for r in read(small_lab / "arith/test.jsonl")}
    assert len(records) == 2000
    assert sum(r["lang"] == "ko" for r in records) == 1000
    assert len({r["meta"]["expression"] for r in records}) == 2000  # all different numbers
    for r in records:
        question, reply = (m["content"] for m in r["messages"])
        assert question not in test_questions  # the held-out questions stay held out
        assert bool(HANGUL.search(question)) == (r["lang"] == "ko")
        expression, shown = REPLY.match(reply).groups()
        call = call_at_end(reply[: reply.index("→")])  # where generation stops
        assert call.name == "calculator" and call.args_text.strip() == expression
        assert format_number(calculate(call.args_text)) == shown == r["meta"]["result"]
        assert expression == r["meta"]["expression"] and expression in question


def _replay(reply: str):
    """A scripted model that writes `reply`, continuing from whatever the prompt already holds."""

    def write(prompt, options) -> str:
        answered = prompt.split("\nAnswer:", 1)[1]
        return reply[len(answered.lstrip()) :] if answered else " " + reply

    return write


def test_the_agent_loop_reproduces_every_record(small_lab):
    tools = load_tools("calculator")
    for r in read(small_lab / "sft/tools.jsonl"):
        question, reply = (m["content"] for m in r["messages"])
        backend = ScriptedBackend(_replay(reply))
        result = ReActAgent(backend, tools, protocol="inline").run(question)
        assert result.answer == reply, r["id"]
        (observation,) = result.observations()
        assert observation.data["ok"] and observation.text == r["meta"]["result"]
        assert len(backend.prompts) == 2  # stopped at the call, then continued after it


def test_a_model_tuned_on_the_records_calls_the_calculator_in_chat_mode(
    tiny_lab, tiny_model_dir, tmp_path
):
    record = read(tiny_lab / "sft/tools.jsonl")[0]
    data = tmp_path / "tools.jsonl"
    data.write_text((tiny_lab / "sft/tools.jsonl").read_text().splitlines()[0] + "\n")
    config = TrainConfig(max_steps=40, lr=5e-3, seq_len=128, micro_batch_size=4, warmup_steps=2,
                         eval_fraction=0, save_every=1000)  # fmt: skip
    with single_thread():
        sft(tiny_model_dir, [data], tmp_path / "sft", config)
        backend = load_backend(tmp_path / "sft")
        agent = ReActAgent(backend, load_tools("calculator"), Budget(max_steps=3, max_tokens=80),
                           protocol="inline", mode="chat", instructions="")  # fmt: skip
        question, reply = (m["content"] for m in record["messages"])
        result = agent.run(question)
    (action,) = result.actions()
    assert action.data["call"]["name"] == "calculator"
    assert result.observations()[0].text == record["meta"]["result"]
    assert result.answer == reply and result.stop_reason == "answer"


def test_inline_chat_mode_needs_a_backend_that_renders_its_template():
    with pytest.raises(LmforgeError, match="cannot render it as text"):
        ReActAgent(ScriptedBackend([]), load_tools("calculator"), protocol="inline", mode="chat")


def test_instructions_replace_or_drop_the_system_text():
    backend = ScriptedBackend(["Final Answer: 4", "Final Answer: 4"])
    tools = load_tools("calculator")
    ReActAgent(backend, tools, protocol="react", mode="chat", instructions="").run("2+2?")
    ReActAgent(backend, tools, protocol="react", mode="chat", instructions="Be brief.").run("2+2?")
    bare, brief = backend.prompts
    assert [m["role"] for m in bare] == ["user"]
    assert brief[0] == {"role": "system", "content": "Be brief."}
