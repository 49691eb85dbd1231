"""Fuzzy deduplication with MinHash-LSH: drop documents that nearly repeat an earlier one.

    step = MinHashDedup(threshold=0.8, shingle="word:5", num_perm=128, verify=True)
    docs = list(step.run(docs))

or `lmforge data dedup -i docs.jsonl -o deduped/ --threshold 0.8 [--shingle char:5] [--verify]`.

How: every kept document gets a MinHash signature (`minhash.py`); the signature is cut into
`bands` x `rows` (chosen from the threshold by `optimal_bands`), and two documents whose rows
agree in any band are candidates. Candidates are joined with union-find -- after an exact
Jaccard check on their shingle sets when `verify` is on, which removes the LSH false
positives. In each cluster the document that came first (lowest input position) is kept;
the others are dropped with rule "near_duplicate", value = the MinHash estimate of their
Jaccard similarity with the kept document, threshold = `threshold`, and
`meta["duplicate_of"]` = the kept document's id. Clusters are transitive (A~B, B~C puts C
with A), so a dropped document's value can sit below the threshold.

Korean: with `hangul_shingle` set (e.g. "char:5"), documents whose letters are mostly Hangul
are shingled that way, the rest with `shingle`; in Korean a word-level n-gram breaks on every
particle change.

Memory: the step holds every document (and, with `verify`, its shingle hashes) until the
input ends, because a later document can join two earlier clusters. A spill-to-disk version
for corpora larger than memory is not built yet. Documents already dropped pass through and
are not indexed; documents with no shingles (empty text) are never duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from lmforge.data.document import Document, DropReason
from lmforge.data.minhash import (
    MinHasher,
    Shingling,
    estimate_jaccard,
    exact_jaccard,
    optimal_bands,
    shingle_hashes,
)
from lmforge.data.quality_stats import hangul_ratio


class UnionFind:
    """Disjoint sets over 0..n-1 whose root is always the smallest member."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]  # path halving
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)  # the earliest document stays the root


@dataclass
class MinHashDedup:
    """Drop near duplicates (estimated Jaccard >= `threshold` on shingles); see the module."""

    name: str = "minhash_dedup"
    threshold: float = 0.8
    shingle: str = "word:5"
    hangul_shingle: str | None = None
    num_perm: int = 128
    verify: bool = False
    seed: int = 0
    _shingling: Shingling = field(init=False, repr=False, compare=False)
    _hangul: Shingling | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._shingling = Shingling.parse(self.shingle)
        self._hangul = None if self.hangul_shingle is None else Shingling.parse(self.hangul_shingle)
        self.bands, self.rows = optimal_bands(self.threshold, self.num_perm)

    def shingles(self, text: str) -> np.ndarray:
        """The shingle hashes of `text`, with the Korean shingling for mostly-Hangul text."""
        use_hangul = self._hangul is not None and hangul_ratio(text) >= 0.5
        return shingle_hashes(text, self._hangul if use_hangul else self._shingling)

    def run(
        self, docs: Iterable[Document], rank: int = 0, world_size: int = 1
    ) -> Iterator[Document]:
        held = list(docs)  # a later document may merge two earlier clusters: see the module
        index = _LshIndex(self)
        for pos, doc in enumerate(held):
            if doc.kept:
                index.add(pos, self.shingles(doc.text))
        for slot, pos in enumerate(index.positions):
            root = index.clusters.find(slot)
            if root != slot:
                kept = held[index.positions[root]]
                self._drop(held[pos], kept, index.estimate(slot, root))
        yield from held

    def _drop(self, doc: Document, kept: Document, similarity: float) -> None:
        doc.meta["duplicate_of"] = kept.id
        doc.drop = DropReason(self.name, "near_duplicate", round(similarity, 4), self.threshold)


class _LshIndex:
    """Signatures, band buckets and clusters of the documents added so far."""

    def __init__(self, step: MinHashDedup) -> None:
        self.step = step
        self.hasher = MinHasher(step.num_perm, step.seed)
        self.span = step.bands * step.rows
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(step.bands)]
        self.signatures: list[np.ndarray] = []
        self.shingle_sets: list[np.ndarray] = []
        self.positions: list[int] = []  # slot -> input position
        self.clusters = UnionFind()

    def add(self, position: int, shingles: np.ndarray) -> int:
        """Index the document at input `position`; link it to the candidates found so far."""
        slot = self.clusters.add()
        sig = self.hasher.signature(shingles)
        self.signatures.append(sig)
        self.positions.append(position)
        if self.step.verify:
            self.shingle_sets.append(shingles)
        if shingles.size == 0:
            return slot  # nothing to compare: never a duplicate, never a bucket key
        rows = sig[: self.span].reshape(self.step.bands, self.step.rows)
        for band, key in zip(self.buckets, map(np.ndarray.tobytes, rows), strict=True):
            members = band.setdefault(key, [])
            self._link(slot, members)
            members.append(slot)
        return slot

    def _link(self, slot: int, members: list[int]) -> None:
        if not members:
            return
        if not self.step.verify:
            self.clusters.union(slot, members[0])  # members already share one cluster
            return
        for other in members:
            if self.clusters.find(other) == self.clusters.find(slot):
                continue
            similarity = exact_jaccard(self.shingle_sets[slot], self.shingle_sets[other])
            if similarity >= self.step.threshold:
                self.clusters.union(slot, other)

    def estimate(self, a: int, b: int) -> float:
        return estimate_jaccard(self.signatures[a], self.signatures[b])
