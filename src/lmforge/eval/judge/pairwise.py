"""Pairwise judging (MT-Bench style): which of two answers is better, asked in both orders.

Each item is judged with answer A shown first, then with B shown first (the position swap of
Zheng et al., 2023). The verdict stands when both orders agree; when they disagree (a judge that
prefers a position), the item is a tie. A reply without exactly one `[[A]]`/`[[B]]`/`[[C]]` is
unparsed: the item has no verdict and is left out of the win rates, and counted. A judge with
log-likelihoods reads its verdict as the most likely of A, B, C after "Final verdict: [[".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmforge.eval.judge.asking import (
    as_prompt,
    candidate_probabilities,
    room_after,
    scoring_text,
)
from lmforge.eval.judge.prompts import VERDICT_CUE, Criterion, pair_prompt, parse_verdict
from lmforge.infer.backends.base import Backend, Prompt

SWAPPED = {"A": "B", "B": "A", "tie": "tie", None: None}
LABELS = {"A": "A", "B": "B", "C": "tie"}
MIN_REPLY = 16  # tokens: a short explanation could still end in "[[A]]"


@dataclass
class PairwiseJudge:
    backend: Backend
    criteria: list[Criterion] = field(default_factory=list)  # empty: MT-Bench's own factors
    mode: str = "completion"
    scoring: str = "generate"  # or "logprobs"
    max_tokens: int = 512  # room for the explanation before the verdict

    def check(self, items: list[dict[str, Any]]) -> None:
        """Refuse, before any call, items whose prompts leave no room for a verdict."""
        for item in items:
            for first, second in (("answer_a", "answer_b"), ("answer_b", "answer_a")):
                text = pair_prompt(self.criteria, item, item[first], item[second])
                room_after(
                    self.backend, as_prompt(text, self.mode), MIN_REPLY, f"item {item['id']!r}"
                )

    def judge(self, item: dict[str, Any]) -> dict[str, Any]:
        """Both orders' verdicts (in the item's own labels) and the combined verdict."""
        first = self._ask(item, item["answer_a"], item["answer_b"]) | {"order": "AB"}
        second = self._ask(item, item["answer_b"], item["answer_a"]) | {"order": "BA"}
        second["verdict"] = SWAPPED[second["shown_verdict"]]
        first["verdict"] = first["shown_verdict"]
        verdicts = (first["verdict"], second["verdict"])
        if None in verdicts:
            verdict, consistent = None, None
        elif verdicts[0] == verdicts[1]:
            verdict, consistent = verdicts[0], True
        else:  # the answer's position decided: cancel it out
            verdict, consistent = "tie", False
        return {"verdict": verdict, "consistent": consistent, "unparsed": verdict is None,
                "orders": [first, second]}  # fmt: skip

    def _ask(self, item: dict[str, Any], first: str, second: str) -> dict[str, Any]:
        prompt = as_prompt(pair_prompt(self.criteria, item, first, second), self.mode)
        shown = {"prompt": prompt}
        if not isinstance(prompt, str) and (rendered := self.backend.render(prompt)) is not None:
            shown["rendered"] = rendered
        if self.scoring == "logprobs":
            return shown | self._by_logprobs(prompt)
        room = room_after(self.backend, prompt, MIN_REPLY, f"item {item['id']!r}")
        limit = self.max_tokens if room is None else min(self.max_tokens, room)
        reply = self.backend.generate(prompt, max_tokens=limit, temperature=0.0).text
        return shown | {"reply": reply, "shown_verdict": parse_verdict(reply)}

    def _by_logprobs(self, prompt: Prompt) -> dict[str, Any]:
        context = scoring_text(self.backend, prompt)
        found = candidate_probabilities(self.backend, context, list(LABELS), prefix=VERDICT_CUE)
        if found is None:
            return {"shown_verdict": None, "probabilities": None}
        probs, logliks = found
        ranked = sorted(probs, key=probs.get, reverse=True)
        verdict = LABELS[ranked[0]]
        if {ranked[0], ranked[1]} == {"A", "B"} and probs["A"] == probs["B"]:
            verdict = "tie"  # no preference at all between the two
        return {"shown_verdict": verdict, "probabilities": probs, "logliks": logliks}


def win_rates(judgments: list[dict[str, Any]]) -> dict[str, Any]:
    """Wins, ties and rates over the items with a verdict; unparsed and inconsistent counts;
    how often a single order's decisive verdict picked the answer shown first."""
    verdicts = [j["verdict"] for j in judgments if j["verdict"] is not None]
    n = len(verdicts)
    wins_a, wins_b, ties = (verdicts.count(v) for v in ("A", "B", "tie"))
    shown = [o["shown_verdict"] for j in judgments for o in j["orders"]]
    decisive = [v for v in shown if v in ("A", "B")]
    return {
        "n": len(judgments),
        "judged": n,
        "unparsed": len(judgments) - n,
        "wins_a": wins_a,
        "wins_b": wins_b,
        "ties": ties,
        "inconsistent": sum(j["consistent"] is False for j in judgments),
        "win_rate_a": wins_a / n if n else None,
        "win_rate_b": wins_b / n if n else None,
        "tie_rate": ties / n if n else None,
        "first_position_rate": decisive.count("A") / len(decisive) if decisive else None,
    }
