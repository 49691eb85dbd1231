"""A fast deterministic backend that can actually classify, for the estimator-contract tests.

It reads the classifier's own prompt back ("Text: ...\\nLabel: y" demonstrations, then the
query) and scores " label" by 1-nearest-neighbour: minus the distance from the query to the
closest demonstration of that label (euclidean for numeric rows, word-set Jaccard for text).
Zero-shot (no demonstrations at all): 1 if the query mentions the label, else 0. It keeps
no call log, so fitting never changes the `model=` parameter (scikit-learn checks that).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from lmforge.infer.backends.base import Backend, Completion

LABELS = re.compile(r"labels: (.*)\. Answer")


class NearestDemoScorer(Backend):
    def __init__(self, loglikelihood: bool = True) -> None:
        self.loglikelihood_capable = loglikelihood
        caps = {"completion", "loglikelihood"} if loglikelihood else {"completion"}
        self.capabilities = frozenset(caps)

    def _loglikelihoods(self, requests):
        return [scores(context).get(label.strip(), -1e9) for context, label in requests]

    def _generate(self, prompt, options):
        table = scores(prompt)
        best = max(sorted(table), key=lambda label: table[label])
        return Completion(best, texts=[best] * options["n"])


@lru_cache(maxsize=256)
def scores(context: str) -> dict[str, float]:
    """Score of every label of the prompt (the instruction lists them)."""
    blocks = context.split("\n\n")
    labels = LABELS.search(blocks[0]).group(1).split(", ")
    demos = [b.removeprefix("Text: ").split("\nLabel: ") for b in blocks[1:-1]]
    query = blocks[-1].removeprefix("Text: ").removesuffix("\nLabel:")
    out = {}
    for label in labels:
        texts = [text for text, demo_label in demos if demo_label == label]
        if demos and not texts:  # few-shot, but no demonstration of this label: unlikely
            out[label] = -1e6
        elif not texts:
            out[label] = float(label.casefold() in query.casefold().split())
        else:
            out[label] = -min(distance(query, text) for text in texts)
    return out


def distance(a: str, b: str) -> float:
    try:
        return float(np.linalg.norm(np.array(a.split(), float) - np.array(b.split(), float)))
    except ValueError:  # text, or rows of different widths
        words_a, words_b = set(a.casefold().split()), set(b.casefold().split())
        return 1 - len(words_a & words_b) / max(len(words_a | words_b), 1)


def numbers(texts) -> np.ndarray:
    """An embedding for numeric rows (the default TF-IDF sees "1.5" as the words 1 and 5).

    KNNSelector ranks by cosine; a large constant last coordinate makes that rank follow
    euclidean distance for the small standardised rows of scikit-learn's checks.
    """
    return np.array([[*(float(v) for v in t.split()), 10.0] for t in texts])
