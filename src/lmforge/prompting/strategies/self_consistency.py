"""Self-consistency (Wang et al. 2022): sample several reasonings, vote on their answers.

Each of `samples` replies to the few-shot CoT prompt is drawn at `temperature` with its own
seed (seed, seed+1, ... so runs repeat and cache). Answers are normalised (integers for
numeric tasks, `normalize_answer` otherwise) before the vote; unparsed samples get no vote
but count in the confidence, the winner's share of all samples. Ties go to the answer that
reached its count first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lmforge.errors import LmforgeError
from lmforge.prompting.parsing import normalize, parse_marked
from lmforge.prompting.strategies.base import Answer, Strategy
from lmforge.prompting.templates import PromptTemplate


@dataclass
class SelfConsistency(Strategy):
    template: PromptTemplate = field(default_factory=lambda: PromptTemplate(use_rationales=True))
    samples: int = 5
    temperature: float = 0.7
    seed: int = 0
    name = "sc"

    def run(self, backend, example) -> Answer:
        if self.samples < 1 or self.temperature <= 0:
            raise LmforgeError(
                f"self-consistency needs samples ≥ 1 and temperature > 0, got {self.samples} "
                f"and {self.temperature}."
            )
        rendered = self.render(backend, example["question"], self.demos(example))
        steps, votes = [], Counter()
        for i in range(self.samples):
            reply = self.ask(
                backend, rendered.prompt, steps, f"sample {i}",
                temperature=self.temperature, seed=self.seed + i,
            )  # fmt: skip
            parsed = parse_marked(reply, self.match)
            if parsed is not None:
                votes[normalize(parsed, self.match)] += 1
        steps[0].notes = rendered.notes
        if not votes:
            return Answer(None, steps, {}, 0.0)
        winner, count = max(votes.items(), key=lambda item: item[1])  # max keeps the first
        return Answer(winner, steps, dict(votes), count / self.samples)
