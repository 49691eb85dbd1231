"""Chain of thought: zero-shot (Kojima et al. 2022), plan-and-solve (Wang et al. 2023), few-shot.

Zero-shot CoT asks with the cue "Let's think step by step.", then sends the question, the
reasoning and "Therefore, the answer is" and reads the answer from that second reply.
Plan-and-solve is the same two stages with the PS or PS+ cue of the paper. Few-shot CoT shows
demonstrations with their rationales and reads the answer after "the answer is"/"Answer:".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmforge.prompting.parsing import parse_extracted, parse_marked
from lmforge.prompting.strategies.base import Answer, Strategy, follow_up
from lmforge.prompting.templates import PromptTemplate

STEP_BY_STEP = "Let's think step by step."
EXTRACT = "Therefore, the answer is"
PS = (
    "Let's first understand the problem and devise a plan to solve the problem. "
    "Then, let's carry out the plan and solve the problem step by step."
)
PS_PLUS = (
    "Let's first understand the problem, extract relevant variables and their corresponding "
    "numerals, and devise a plan. Then, let's carry out the plan, calculate intermediate "
    "variables (pay attention to correct numerical calculation and commonsense), solve the "
    "problem step by step, and show the answer."
)
EXTRACT_NUMERAL = "Therefore, the answer (arabic numerals) is"
FOLLOW_UP_TOKENS = 48  # the extraction cue, as a user turn with its chat markup


@dataclass
class ZeroShotCoT(Strategy):
    cue: str = STEP_BY_STEP
    extract: str = EXTRACT
    extract_tokens: int = 16
    name = "cot"

    def run(self, backend, example) -> Answer:
        rendered = self.render(backend, example["question"], [], self.cue)
        steps = []
        # room for the extraction cue and its answer after the reasoning
        reserve = self.extract_tokens + FOLLOW_UP_TOKENS
        reasoning = self.ask(backend, rendered.prompt, steps, "reason", reserve=reserve)
        second = follow_up(rendered.prompt, reasoning, self.extract)
        reply = self.ask(backend, second, steps, "extract", max_tokens=self.extract_tokens)
        return Answer(parse_extracted(reply, self.match), steps)


@dataclass
class PlanAndSolve(ZeroShotCoT):
    """PS (plus=False) or PS+ prompting; numeric tasks extract "(arabic numerals)" as the paper."""

    plus: bool = False
    name = "ps"

    def __post_init__(self) -> None:
        self.cue = PS_PLUS if self.plus else PS
        self.extract = EXTRACT_NUMERAL if self.match == "numeric" else EXTRACT


@dataclass
class FewShotCoT(Strategy):
    template: PromptTemplate = field(default_factory=lambda: PromptTemplate(use_rationales=True))
    name = "fewshot-cot"

    def run(self, backend, example) -> Answer:
        rendered = self.render(backend, example["question"], self.demos(example))
        steps = []
        reply = self.ask(backend, rendered.prompt, steps, "reason")
        steps[-1].notes = rendered.notes
        return Answer(parse_marked(reply, self.match), steps)
