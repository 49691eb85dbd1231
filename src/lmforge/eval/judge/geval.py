"""G-Eval (Liu et al., 2023): criterion → evaluation steps written by the judge → a 1–5 score.

The steps are generated once per criterion (greedy, recorded with their prompt) and reused
for every item. The score of an item is, with a backend that gives log-likelihoods,
Σ p(s)·s over s = 1..5, where p is the backend's likelihood of each score continuing the
prompt, normalised over the five (the paper's probability-weighted score; `score_mass` keeps
how much probability the five had before normalising). Without log-likelihoods the judge
samples `samples` replies and averages the scores it can parse; a reply without a score
from 1 to 5 is counted as unparsed, never guessed, and an item with no parsed reply has no score.

    judge = GEval(load_backend("models/judge"), scoring="logprobs")
    steps = judge.evaluation_steps(BUILTIN["coherence"])
    judgment = judge.score(BUILTIN["coherence"], steps["steps"], {"question": ..., "answer": ...})
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lmforge.eval.judge.asking import (
    as_prompt,
    candidate_probabilities,
    room_after,
    scoring_text,
)
from lmforge.eval.judge.prompts import SCORES, Criterion, parse_score, score_prompt, steps_prompt
from lmforge.infer.backends.base import Backend, Prompt


@dataclass
class GEval:
    backend: Backend
    mode: str = "completion"  # or "chat": each prompt is one user turn
    scoring: str = "logprobs"  # or "generate" (resolved: see asking.resolve_scoring)
    samples: int = 5  # replies per item when generating
    temperature: float = 1.0  # for samples > 1 (the paper samples at 1); one sample is greedy
    seed: int = 0
    max_tokens: int = 16
    steps_max_tokens: int = 256

    def evaluation_steps(self, criterion: Criterion) -> dict[str, Any]:
        """The criterion's steps: given in its definition, or written by the judge (one call)."""
        record: dict[str, Any] = {"criterion": criterion.name, "definition": criterion.definition}
        if criterion.steps is not None:
            return record | {"steps": criterion.steps, "generated": False}
        prompt = as_prompt(steps_prompt(criterion), self.mode)
        room = room_after(self.backend, prompt, 1, f"criterion {criterion.name}'s steps")
        limit = self.steps_max_tokens if room is None else min(self.steps_max_tokens, room)
        reply = self.backend.generate(prompt, max_tokens=limit, temperature=0.0).text
        return record | {"steps": reply.strip(), "generated": True, **self._shown(prompt),
                         "reply": reply}  # fmt: skip

    def check(self, criteria: list[Criterion], items: list[dict[str, Any]]) -> None:
        """Refuse, before any call, items whose prompts cannot fit the judge's window even
        if the steps still to be written take all of `steps_max_tokens`."""
        for criterion in criteria:
            extra = self.steps_max_tokens if criterion.steps is None else 0
            for item in items:
                prompt = as_prompt(score_prompt(criterion, criterion.steps or "", item), self.mode)
                where = f"item {item['id']!r}, criterion {criterion.name}"
                room_after(self.backend, prompt, self._reply_tokens + extra, where)

    @property
    def _reply_tokens(self) -> int:
        return 2 if self.scoring == "logprobs" else self.max_tokens

    def score(self, criterion: Criterion, steps: str, item: dict[str, Any]) -> dict[str, Any]:
        """One item's judgment on one criterion: score (or None), how, and the exact prompt."""
        prompt = as_prompt(score_prompt(criterion, steps, item), self.mode)
        where = f"item {item['id']!r}, criterion {criterion.name}"
        room_after(self.backend, prompt, self._reply_tokens, where)
        found = self._by_logprobs(prompt) if self.scoring == "logprobs" else self._sampled(prompt)
        return {"method": self.scoring, **found, **self._shown(prompt)}

    def _by_logprobs(self, prompt: Prompt) -> dict[str, Any]:
        labels = [str(s) for s in SCORES]
        found = candidate_probabilities(self.backend, scoring_text(self.backend, prompt), labels)
        if found is None:  # no finite log-likelihood: nothing to weigh
            return {"score": None, "unparsed": True, "probabilities": None, "logliks": None}
        probs, logliks = found
        mass = sum(math.exp(v) for v in logliks.values())
        return {
            "score": sum(p * int(s) for s, p in probs.items()),
            "unparsed": False,
            "probabilities": probs,
            "logliks": logliks,
            "score_mass": mass,
        }

    def _sampled(self, prompt: Prompt) -> dict[str, Any]:
        temperature = self.temperature if self.samples > 1 else 0.0
        completion = self.backend.generate(
            prompt, n=self.samples, temperature=temperature, seed=self.seed,
            max_tokens=self.max_tokens,
        )  # fmt: skip
        parsed = [parse_score(reply) for reply in completion.texts]
        scores = [p for p in parsed if p is not None]
        return {
            "score": sum(scores) / len(scores) if scores else None,
            "unparsed": not scores,
            "replies": completion.texts,
            "parsed": parsed,
            "unparsed_replies": len(parsed) - len(scores),
        }

    def _shown(self, prompt: Prompt) -> dict[str, Any]:
        """The prompt as sent and, for a chat turn, as the model sees it (when known)."""
        rendered = None if isinstance(prompt, str) else self.backend.render(prompt)
        return {"prompt": prompt} | ({"rendered": rendered} if rendered is not None else {})
