"""CRITIC (Gou et al., 2024): verify an answer with tools, correct it, repeat until it holds.

    critic = Critic(ReActAgent(backend, load_tools("calculator,rag:idx/")), rounds=2)
    result = critic.run("What is 12 * 34 + 5?", answer="413")
    result.answer, result.extra["verified"], result.extra["revisions"]

Without a given answer the model first answers directly (no tools). Each round is a ReAct
run whose goal is to check the current answer with the tools and end with
`Final Answer: <the corrected answer, or the same one>`. The answer is verified when a round
returns it unchanged; a changed answer is checked again in the next round. The agent's budget
is shared by all rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.agents.react import ReActAgent
from lmforge.agents.trace import AgentResult, Meter, Trace

VERIFY = """Question: {question}
Proposed answer: {answer}
Check the proposed answer with the tools (recompute it, or look up the facts it relies on).
Then give "Final Answer:" with the corrected answer, or the same answer if it is right."""
DIRECT = "Question: {question}\nAnswer:"


@dataclass
class Critic:
    agent: ReActAgent
    rounds: int = 2

    def run(self, question: str, answer: str | None = None) -> AgentResult:
        meter, trace = Meter(self.agent.budget), Trace(self.agent.listener)
        if answer is None:
            direct = self.agent.as_prompt(DIRECT.format(question=question))
            completion, stop = self.agent.ask(direct, meter, stop=["\n"])
            if completion is None:
                return self._end(None, stop or "failed", trace, meter, None, [], False)
            answer = completion.text.strip()
        initial = answer
        trace.add("answer", f"initial answer: {answer}", meter.steps)
        revisions: list[str] = []
        verified = False
        for _ in range(self.rounds):
            checked = self.agent.run(
                VERIFY.format(question=question, answer=answer), "", meter, trace
            )
            if checked.answer is None:
                return self._end(
                    answer, checked.stop_reason, trace, meter, initial, revisions, False
                )
            if _same(checked.answer, answer):
                verified = True
                break
            answer = checked.answer
            revisions.append(answer)
            trace.add("revision", answer, meter.steps)
        return self._end(answer, "answer", trace, meter, initial, revisions, verified)

    def _end(self, answer, stop, trace, meter, initial, revisions, verified) -> AgentResult:
        trace.add(
            "stop", f"critic: {stop} ({'verified' if verified else 'not verified'})", meter.steps
        )
        extra = {"initial": initial, "revisions": revisions, "verified": verified}
        return AgentResult(answer, stop, trace.events, meter.steps, meter.tokens, extra)


def _same(a: str, b: str) -> bool:
    norm = lambda s: " ".join(s.lower().strip(" .").replace(",", "").split())  # noqa: E731
    return norm(a) == norm(b)
