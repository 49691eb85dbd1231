"""Auto-CoT (Zhang et al. 2023): few-shot CoT demonstrations built by the model itself.

    result = auto_cot(backend, questions, n_clusters=8)
    strategy = make_strategy("fewshot-cot", select=lambda q: result.demos)

1. Cluster the questions: k-means (scikit-learn, seeded) on TF-IDF vectors
   (`lmforge.embed.TfidfEmbedder`, scaled to unit length so distance follows cosine).
2. In each cluster, try questions from the one nearest the centroid outwards: ask zero-shot
   CoT ("Let's think step by step.", then "Therefore, the answer is") and keep the first
   that passes the paper's heuristics: question of at most 60 words, reasoning of at most 5
   steps (non-empty lines), and an answer that parses. A too-long question costs no call;
   the others take both calls (ZeroShotCoT is reused as is), then are checked.
3. One demonstration per cluster: the question, the parsed answer and the rationale
   "Let's think step by step. {reasoning}\nThe answer is {answer}." (the paper's format,
   which `FewShotCoT` shows as is and parses back). Clusters come in
   the order of their chosen question in the input (k-means numbers clusters arbitrarily).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmforge.embed import Embed, TfidfEmbedder
from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend
from lmforge.prompting.strategies.cot import STEP_BY_STEP, ZeroShotCoT
from lmforge.prompting.templates import Demo


@dataclass
class AutoCoTResult:
    demos: list[Demo]  # one per cluster that found a question passing the heuristics
    tried: list[dict[str, Any]] = field(default_factory=list)  # every question tried, and why


def auto_cot(
    backend: Backend, questions: Sequence[str], n_clusters: int = 8, match: str = "exact",
    seed: int = 0, max_question_words: int = 60, max_steps: int = 5,
    embed: Embed | None = None, max_tokens: int = 256,
) -> AutoCoTResult:  # fmt: skip
    """Demonstrations for few-shot CoT from unlabeled `questions` (see the module docstring)."""
    questions = list(dict.fromkeys(q.strip() for q in questions if q.strip()))
    if not questions:
        raise LmforgeError("Auto-CoT got no questions.", "Give the task's questions.")
    clusters = cluster(questions, n_clusters, seed, embed)
    cot = ZeroShotCoT(match=match, max_tokens=max_tokens)
    picked, tried = [], []
    for members in clusters:
        for i in members:
            reason, demo = _try(backend, cot, questions[i], max_question_words, max_steps)
            tried.append({"question": questions[i], "rejected": reason})
            if demo is not None:
                picked.append((i, demo))
                break
    return AutoCoTResult([demo for _, demo in sorted(picked, key=lambda p: p[0])], tried)


def cluster(
    questions: Sequence[str], n_clusters: int, seed: int = 0, embed: Embed | None = None
) -> list[list[int]]:
    """Question indices per cluster, each sorted nearest-to-centroid first."""
    from sklearn.cluster import KMeans  # scikit-learn: only when Auto-CoT runs

    if n_clusters < 1:
        raise LmforgeError(f"n_clusters={n_clusters}: use 1 or more.")
    vectors = np.asarray((embed or TfidfEmbedder(questions))(questions), dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1, norms)
    k = min(n_clusters, len(np.unique(vectors, axis=0)))  # no more clusters than distinct points
    kmeans = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(vectors)
    distances = np.linalg.norm(vectors - kmeans.cluster_centers_[kmeans.labels_], axis=1)
    return [
        sorted(np.flatnonzero(kmeans.labels_ == c).tolist(), key=lambda i: (distances[i], i))
        for c in range(k)
    ]


def count_steps(reasoning: str) -> int:
    """Reasoning steps as the paper counts them: non-empty lines."""
    return sum(1 for line in reasoning.splitlines() if line.strip())


def _try(backend, cot: ZeroShotCoT, question: str, max_words: int, max_steps: int):
    """(why it was rejected or None, the demonstration or None) for one question."""
    if len(question.split()) > max_words:
        return "question_too_long", None
    answer = cot.run(backend, {"question": question})
    reasoning = answer.steps[0].reply.strip()
    if count_steps(reasoning) > max_steps:
        return "too_many_steps", None
    if answer.answer is None or not reasoning:
        return "unparsed", None
    rationale = f"{STEP_BY_STEP} {reasoning}\nThe answer is {answer.answer}."
    return None, Demo(question, answer.answer, rationale)
