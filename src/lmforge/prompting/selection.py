"""Choosing k demonstrations for a query: seeded random, or the k nearest by embedding.

A selector maps a query to its demonstrations in priority order (most wanted first), never
including a demonstration whose question is the query itself. `KNNSelector` takes any
embedding function `texts -> vectors`; the default is TF-IDF with cosine similarity, written
here in numpy so it needs no extra package (words are `\\w+` runs, so Korean works too).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from lmforge.errors import LmforgeError
from lmforge.prompting.templates import Demo

Embed = Callable[[Sequence[str]], np.ndarray]
WORD = re.compile(r"\w+")


def _check_k(k: int, pool: Sequence[Demo]) -> None:
    if k < 0:
        raise LmforgeError(f"shots {k} is negative.", "Use 0 (zero-shot) or more.")
    if k > len(pool):
        raise LmforgeError(f"{k} shots asked for but only {len(pool)} demonstrations exist.")


class RandomSelector:
    """k demonstrations drawn with a seed: the same (seed, query) always gives the same ones."""

    def __init__(self, pool: Sequence[Demo], k: int, seed: int = 0) -> None:
        _check_k(k, pool)
        self.pool, self.k, self.seed = list(pool), k, seed

    def __call__(self, query: str) -> list[Demo]:
        # seeded by the query too, so each example's draw is independent of the others' order
        digest = hashlib.sha256(f"{self.seed}\0{query}".encode()).hexdigest()
        candidates = [d for d in self.pool if d.question != query]
        return random.Random(digest).sample(candidates, min(self.k, len(candidates)))


class KNNSelector:
    """The k demonstrations most similar to the query (cosine of embeddings), most similar first."""

    def __init__(self, pool: Sequence[Demo], k: int, embed: Embed | None = None) -> None:
        _check_k(k, pool)
        self.pool, self.k = list(pool), k
        self.embed = embed or TfidfEmbedder([d.question for d in self.pool])
        self.vectors = _unit(np.asarray(self.embed([d.question for d in self.pool]), float))

    def __call__(self, query: str) -> list[Demo]:
        query_vector = _unit(np.asarray(self.embed([query]), float))[0]
        scores = self.vectors @ query_vector
        order = sorted(range(len(self.pool)), key=lambda i: (-scores[i], i))
        picked = [self.pool[i] for i in order if self.pool[i].question != query]
        return picked[: self.k]


class TfidfEmbedder:
    """TF-IDF vectors over the words of a fitted corpus (smoothed idf, as scikit-learn's)."""

    def __init__(self, corpus: Sequence[str]) -> None:
        docs = [set(_words(text)) for text in corpus]
        vocabulary = sorted(set().union(*docs)) if docs else []
        self.index = {word: i for i, word in enumerate(vocabulary)}
        df = Counter(word for doc in docs for word in doc)
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in vocabulary])

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.index)))
        for row, text in enumerate(texts):
            for word, count in Counter(_words(text)).items():
                if word in self.index:
                    out[row, self.index[word]] = count
        return out * self.idf


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


SELECTORS = ("random", "knn")


def make_selector(name: str, pool: Sequence[Demo], k: int, seed: int = 0):
    if name == "random":
        return RandomSelector(pool, k, seed)
    if name == "knn":
        return KNNSelector(pool, k)
    raise LmforgeError(f"unknown demonstration selection {name!r}.", "Use random or knn.")
