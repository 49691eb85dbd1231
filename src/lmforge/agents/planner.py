"""Goal decomposition (AutoGPT / Plan-and-Execute style) under one hard budget.

    planner = Planner(ReActAgent(backend, load_tools("calculator,python")), max_tasks=4)
    result = planner.run("Find the sum of the squares of 1..10, then its square root.")
    result.extra["tasks"]  # [{"task", "answer", "stop_reason"}, ...]

The model first writes a numbered task list (at most `max_tasks` are kept; an empty or
unreadable list becomes the goal itself as one task). Each task is a ReAct run that sees
the results of the tasks before it. A last call combines the results into the answer. Planning,
every task and the final answer draw on one `Meter`: when the step or token budget is spent
the run stops where it is, whatever is left of the plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmforge.agents.react import ReActAgent
from lmforge.agents.trace import AgentResult, Meter, Trace
from lmforge.errors import LmforgeError

PLAN = """Break the goal into at most {n} short tasks that, done in order, reach it.
Write one task a line, numbered "1.", "2.", ... and nothing else.
Goal: {goal}
Tasks:
1."""  # completion mode: the cue starts the list; chat mode: the model writes it whole
COMBINE = """Goal: {goal}
Results of the tasks:
{results}
Using these results, give the final answer to the goal.
Final Answer:"""


@dataclass
class Planner:
    agent: ReActAgent
    max_tasks: int = 5

    def __post_init__(self) -> None:
        if self.max_tasks < 1:
            raise LmforgeError(f"max_tasks is {self.max_tasks}.", "Give at least 1.")

    def run(self, goal: str) -> AgentResult:
        meter, trace = Meter(self.agent.budget), Trace(self.agent.listener)
        trace.add("goal", goal, 0, strategy="plan")
        plan = PLAN.format(n=self.max_tasks, goal=goal)
        completion, stop = self.agent.ask(self.agent.as_prompt(plan), meter)
        if completion is None:
            return self._end(None, stop, trace, meter, [])
        listed = completion.text if self.agent.mode == "chat" else "1." + completion.text
        tasks = parse_tasks(listed, self.max_tasks) or [goal]
        trace.add("plan", "\n".join(f"{i}. {t}" for i, t in enumerate(tasks, 1)), meter.steps,
                  tasks=tasks)  # fmt: skip
        done: list[dict] = []
        for i, task in enumerate(tasks, 1):
            trace.add("task", f"task {i}/{len(tasks)}: {task}", meter.steps)
            result = self.agent.run(task, _results_note(goal, done), meter, trace)
            done.append({"task": task, "answer": result.answer, "stop_reason": result.stop_reason})
            if result.answer is None:  # the budget ran out (or the context): the plan ends here
                return self._end(None, result.stop_reason, trace, meter, done)
        results = "\n".join(f"{i}. {d['task']} -> {d['answer']}" for i, d in enumerate(done, 1))
        combine = COMBINE.format(goal=goal, results=results)
        completion, stop = self.agent.ask(self.agent.as_prompt(combine), meter)
        if completion is None:
            return self._end(None, stop, trace, meter, done)
        answer = completion.text.strip()
        trace.add("answer", answer, meter.steps)
        return self._end(answer, "answer", trace, meter, done)

    def _end(self, answer, stop, trace: Trace, meter: Meter, done: list[dict]) -> AgentResult:
        trace.add("stop", f"plan: {stop}", meter.steps, tasks_done=len(done))
        return AgentResult(answer, stop, trace.events, meter.steps, meter.tokens, {"tasks": done})


def parse_tasks(text: str, limit: int) -> list[str]:
    """Numbered (or bulleted) lines as tasks, at most `limit`."""
    tasks = []
    for line in text.splitlines():
        match = re.match(r"^\s*(?:\d+[.)]|[-*•])\s+(.+?)\s*$", line)
        if match:
            tasks.append(match.group(1))
    return tasks[:limit]


def _results_note(goal: str, done: list[dict]) -> str:
    if not done:
        return f"This task is part of the goal: {goal}"
    lines = "\n".join(f"- {d['task']}: {d['answer']}" for d in done)
    return f"This task is part of the goal: {goal}\nResults so far:\n{lines}"
