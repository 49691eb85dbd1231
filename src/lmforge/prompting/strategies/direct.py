"""Direct answering: (k-shot) question → answer, one greedy call."""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.prompting.parsing import parse_direct
from lmforge.prompting.strategies.base import Answer, Strategy


@dataclass
class Direct(Strategy):
    max_tokens: int = 32
    name = "direct"

    def run(self, backend, example) -> Answer:
        rendered = self.render(backend, example["question"], self.demos(example))
        steps = []
        reply = self.ask(backend, rendered.prompt, steps, "answer")
        steps[-1].notes = rendered.notes
        return Answer(parse_direct(reply, self.match), steps)
