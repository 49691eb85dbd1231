"""Reflexion (Shinn et al., 2023): after a failed trial the model writes a lesson, then retries.

    reflexion = Reflexion(agent, check=expect_answer("5555"), max_trials=3)
    result = reflexion.run("What is 1234 + 4321?")
    result.extra["trials"], result.extra["reflections"]

Each trial is a full ReAct run. `check(result) -> (passed, feedback)` judges it: a test, an
expected answer, or `answered` (any final answer counts). After a failure the model sees the
goal, its trial's trace and the feedback, and writes a short reflection that `ReflectionMemory`
keeps and that every later trial reads before the goal. Each trial gets the full step budget;
tokens are shared by all trials and reflections, so the token budget is a hard cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lmforge.agents.memory import ReflectionMemory
from lmforge.agents.react import ReActAgent
from lmforge.agents.trace import AgentResult, Meter, Trace
from lmforge.errors import LmforgeError

Check = Callable[[AgentResult], tuple[bool, str]]
REFLECT = """You tried to reach a goal and failed.
Goal: {goal}
Your attempt:
{attempt}
What went wrong: {feedback}
In one or two sentences, say what you did wrong and what you will do differently next time.
Reflection:"""


def answered(result: AgentResult) -> tuple[bool, str]:
    """Passes when the trial gave a final answer before its budget ran out."""
    if result.answer is not None:
        return True, ""
    return False, f"you stopped without a final answer ({result.stop_reason})."


def expect_answer(expected: str) -> Check:
    """Passes when the final answer contains `expected` (case and spacing ignored)."""

    def check(result: AgentResult) -> tuple[bool, str]:
        if result.answer is None:
            return False, f"you stopped without a final answer ({result.stop_reason})."
        if _norm(expected) in _norm(result.answer):
            return True, ""
        return False, f"the answer {result.answer!r} is wrong."

    return check


@dataclass
class Reflexion:
    agent: ReActAgent
    check: Check = answered
    max_trials: int = 3
    memory: ReflectionMemory = field(default_factory=ReflectionMemory)

    def __post_init__(self) -> None:
        if self.max_trials < 1:
            raise LmforgeError(f"max_trials is {self.max_trials}.", "Give at least 1.")

    def run(self, goal: str) -> AgentResult:
        meter = Meter(self.agent.budget)
        trace = Trace(self.agent.listener)
        trials: list[dict] = []
        for trial in range(1, self.max_trials + 1):
            meter.new_trial()
            start = len(trace.events)
            trace.add("trial", f"trial {trial} of {self.max_trials}", meter.steps)
            result = self.agent.run(goal, self.memory.text(), meter, trace)
            passed, feedback = self.check(result)
            trials.append({"trial": trial, "answer": result.answer, "passed": passed,
                           "stop_reason": result.stop_reason, "feedback": feedback})  # fmt: skip
            if passed:
                return self._result(result.answer, "answer", trace, meter, trials)
            trace.add("check", f"failed: {feedback}", meter.steps)
            if trial < self.max_trials and not self._reflect(goal, trace, start, feedback, meter):
                break
        stop = "max-trials" if len(trials) == self.max_trials else (meter.exhausted() or "failed")
        return self._result(None, stop, trace, meter, trials)

    def _result(self, answer, stop: str, trace: Trace, meter: Meter, trials: list[dict]):
        trace.add("stop", f"reflexion: {stop}", meter.steps, trials=len(trials))
        extra = {"trials": trials, "reflections": list(self.memory.items)}
        return AgentResult(answer, stop, trace.events, meter.steps, meter.tokens, extra)

    def _reflect(self, goal: str, trace: Trace, start: int, feedback: str, meter: Meter) -> bool:
        """Ask for a lesson and keep it; False when the budget left no room to ask."""
        attempt = "\n".join(
            f"{e.kind.capitalize()}: {e.text}"
            for e in trace.events[start:]
            if e.kind in ("thought", "action", "observation", "answer", "stop")
        )
        prompt = REFLECT.format(goal=goal, attempt=attempt[-3000:], feedback=feedback)
        completion, _ = self.agent.ask(self.agent.as_prompt(prompt), meter, stop=["\n\n"])
        if completion is None:
            return False
        reflection = completion.text.strip()
        self.memory.add(reflection)
        trace.add("reflection", reflection, meter.steps)
        return True


def _norm(text: str) -> str:
    return " ".join(text.lower().replace(",", "").split())
