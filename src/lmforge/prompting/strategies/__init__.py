"""Prompting strategies by name: each `run(backend, example) -> Answer`.

from lmforge.prompting.strategies import make_strategy
strategy = make_strategy("sc", samples=5, match="numeric", select=selector)
answer = strategy.run(backend, {"question": "What is 12 + 30?"})
answer.answer, answer.votes, answer.confidence, answer.steps
"""

from __future__ import annotations

from functools import partial

from lmforge.errors import LmforgeError
from lmforge.prompting.strategies.base import Answer, Step, Strategy
from lmforge.prompting.strategies.cot import FewShotCoT, PlanAndSolve, ZeroShotCoT
from lmforge.prompting.strategies.direct import Direct
from lmforge.prompting.strategies.least_to_most import LeastToMost
from lmforge.prompting.strategies.self_consistency import SelfConsistency
from lmforge.prompting.strategies.verify_edit import VerifyAndEdit

STRATEGIES = {
    "direct": Direct,
    "cot": ZeroShotCoT,
    "fewshot-cot": FewShotCoT,
    "sc": SelfConsistency,
    "l2m": LeastToMost,
    "ps": PlanAndSolve,
    "ps+": partial(PlanAndSolve, plus=True),
    "ve": VerifyAndEdit,
}
USES_DEMOS = {"direct", "fewshot-cot", "sc", "ve"}

__all__ = [
    "STRATEGIES",
    "Answer",
    "Direct",
    "FewShotCoT",
    "LeastToMost",
    "PlanAndSolve",
    "SelfConsistency",
    "Step",
    "Strategy",
    "VerifyAndEdit",
    "ZeroShotCoT",
    "make_strategy",
]


def make_strategy(name: str, **settings) -> Strategy:
    if name not in STRATEGIES:
        raise LmforgeError(f"unknown strategy {name!r}.", f"Known: {', '.join(STRATEGIES)}.")
    return STRATEGIES[name](**settings)
