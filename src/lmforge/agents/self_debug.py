"""Self-Debug (Chen et al., 2023): write code, run its tests in the sandbox, fix from failures.

    debugger = SelfDebug(load_backend("openai/gpt-4o-mini"), Sandbox(), max_rounds=3)
    result = debugger.run("Write add(a, b) returning the sum.", tests="assert add(2, 3) == 5")
    result.extra["passed"], result.extra["code"], result.extra["rounds"]

Round 1 asks for the code (tests shown, as in the paper's unit-test setting). Each round runs
the code followed by the tests in the jailed `Sandbox`; a failure's real error output (the
assertion, the traceback, or the limit it hit) goes back to the model with a request for the
whole corrected program. The run stops when the tests pass, after `max_rounds`, or when the
agent's budget is spent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lmforge.agents.react import ReActAgent
from lmforge.agents.sandbox import Sandbox
from lmforge.agents.tools import ToolRegistry
from lmforge.agents.trace import AgentResult, Budget, Listener, Meter, Trace
from lmforge.infer.backends.base import Backend, Prompt

WRITE = """Write Python code for this task. Reply with the complete program in one ```python block.
Task: {task}
It must pass these tests:
```python
{tests}
```"""
FIX = """Running your code with the tests failed:
{feedback}
Explain the bug in one sentence, then reply with the whole corrected program \
in one ```python block."""


@dataclass
class SelfDebug:
    backend: Backend
    sandbox: Sandbox
    max_rounds: int = 3
    budget: Budget = field(default_factory=lambda: Budget(6, 4096, step_tokens=512))
    listener: Listener | None = None

    def run(self, task: str, tests: str) -> AgentResult:
        # the ReAct agent is only the budgeted caller here: Self-Debug uses no tools
        caller = ReActAgent(self.backend, ToolRegistry(), self.budget, protocol="react")
        meter, trace = Meter(self.budget), Trace(self.listener)
        trace.add("goal", task, 0, tests=tests)
        prompt = caller.as_prompt(WRITE.format(task=task, tests=tests.strip()))
        rounds: list[dict] = []
        code, passed, stop = "", False, None
        while len(rounds) < self.max_rounds and not passed:
            completion, stop = caller.ask(prompt, meter)
            if completion is None:
                break
            code = extract_code(completion.text)
            trace.add("code", code, meter.steps)
            outcome = self.sandbox.run(code + "\n\n" + tests)
            passed = outcome.ok
            feedback = "" if passed else _feedback(outcome)
            trace.add("test", outcome.summary(), meter.steps, passed=passed, feedback=feedback)
            rounds.append({"code": code, "passed": passed, "result": outcome.summary(),
                           "feedback": feedback})  # fmt: skip
            prompt = _follow(prompt, completion.text, FIX.format(feedback=feedback))
        stop = "answer" if passed else stop or "max-trials"
        trace.add("stop", stop, meter.steps)
        extra = {"passed": passed, "code": code, "rounds": rounds}
        return AgentResult(
            code if passed else None, stop, trace.events, meter.steps, meter.tokens, extra
        )


def extract_code(text: str) -> str:
    """The last ```python block (the corrected program), else any fenced block, else the text."""
    blocks = re.findall(r"```(?:python|py)[ \t]*\n(.*?)```", text, flags=re.S)
    blocks = blocks or re.findall(r"```[ \t]*\n(.*?)```", text, flags=re.S)
    return (blocks[-1] if blocks else text).strip() + "\n"


def _feedback(outcome) -> str:
    text = outcome.stderr.strip() or outcome.stdout.strip()
    return f"{text[-1500:]}\n[{outcome.summary()}]".strip()


def _follow(prompt: Prompt, reply: str, text: str) -> Prompt:
    if isinstance(prompt, list):
        return [*prompt, {"role": "assistant", "content": reply},
                {"role": "user", "content": text}]  # fmt: skip
    return f"{prompt}\n{reply.strip()}\n\n{text}\n"
