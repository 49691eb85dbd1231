"""Least-to-most prompting (Zhou et al. 2022): decompose, then solve sub-questions in order.

Stage 1 asks for sub-questions, one per line (bullets and numbering are stripped; the
original question, if repeated, is asked last anyway). Stage 2 asks each sub-question after
the question and every earlier sub-question with its answer, then the original question with
all of them; that last reply is the answer. With no sub-questions, only the last call is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmforge.eval.scoring import STOP
from lmforge.prompting.parsing import normalize, parse_direct
from lmforge.prompting.strategies.base import Answer, Strategy

DECOMPOSE = (
    "Break the question into simpler sub-questions that lead to its answer. "
    "Write one sub-question per line."
)
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|sub-question\s*\d*:)\s*", re.IGNORECASE)


def parse_subquestions(reply: str, question: str, limit: int) -> list[str]:
    lines = [BULLET.sub("", line).strip() for line in reply.split(STOP, 1)[0].splitlines()]
    subs = [line for line in lines if line and normalize(line) != normalize(question)]
    return subs[:limit]


@dataclass
class LeastToMost(Strategy):
    max_subquestions: int = 4
    sub_tokens: int = 48
    name = "l2m"

    def run(self, backend, example) -> Answer:
        question, steps = example["question"], []
        first = self.render(backend, f"{DECOMPOSE}\n\n{question}", [], "")
        reply = self.ask(backend, first.prompt, steps, "decompose")
        subs = parse_subquestions(reply, question, self.max_subquestions)
        solved: list[tuple[str, str]] = []
        for n, sub in enumerate(subs):
            prompt = self.render(backend, self._context(question, solved, sub), []).prompt
            sub_reply = self.ask(
                backend, prompt, steps, f"sub-question {n}", max_tokens=self.sub_tokens
            )
            solved.append((sub, parse_direct(sub_reply) or ""))
        final = self.render(backend, self._context(question, solved, None), []).prompt
        reply = self.ask(backend, final, steps, "answer")
        return Answer(parse_direct(reply, self.match), steps)

    @staticmethod
    def _context(question: str, solved: list[tuple[str, str]], next_sub: str | None) -> str:
        """The question, the solved sub-questions, and what to answer now."""
        blocks = [question] + [f"Sub-question: {q}\nSub-answer: {a}" for q, a in solved]
        blocks.append(f"Sub-question: {next_sub}" if next_sub else f"Original question: {question}")
        return "\n\n".join(blocks)
