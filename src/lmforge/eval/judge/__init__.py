"""LLM-as-judge: G-Eval scores per criterion, MT-Bench-style pairwise verdicts with position
swap, and agreement with human labels. `judge_answers` is `lmforge eval judge`.

    from lmforge.eval.judge import GEval, PairwiseJudge, judge_answers
    judge_answers("models/judge", Path("answers.jsonl"), Path("judged"),
                  criteria=["coherence", "faithfulness"], gold=Path("gold.jsonl"))
"""

from lmforge.eval.judge.agreement import kendall_tau_b, spearman
from lmforge.eval.judge.geval import GEval
from lmforge.eval.judge.pairwise import PairwiseJudge, win_rates
from lmforge.eval.judge.prompts import BUILTIN, Criterion, resolve_criteria
from lmforge.eval.judge.run import judge_answers

__all__ = [
    "BUILTIN",
    "Criterion",
    "GEval",
    "PairwiseJudge",
    "judge_answers",
    "kendall_tau_b",
    "resolve_criteria",
    "spearman",
    "win_rates",
]
