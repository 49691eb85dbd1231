"""MinHash-LSH dedup: band choice, determinism, what is merged and kept, the lab world."""

from __future__ import annotations

import numpy as np
import pytest

from lmforge.data.dedup import MinHashDedup
from lmforge.data.document import Document, DropReason
from lmforge.data.filters import BoilerplateLineRemover, ExactDedup
from lmforge.data.minhash import (
    MinHasher,
    Shingling,
    candidate_probability,
    exact_jaccard,
    optimal_bands,
    shingle_hashes,
)
from lmforge.data.step import run_steps

BASE = (
    "The Orlen River rises in the northern hills and flows south for about 240 kilometres "
    "before it reaches the sea near the port of Tessa, where a small fishing fleet still works "
    "the estuary and the old customs house has become a museum of the river trade."
)


def docs(*texts: str) -> list[Document]:
    return [Document(f"d{i}", t, {}) for i, t in enumerate(texts)]


def test_optimal_bands_fit_the_budget_and_put_the_threshold_on_the_s_curve():
    bands, rows = optimal_bands(0.8, 128)
    assert bands * rows <= 128
    p = candidate_probability(np.array([0.5, 0.8, 0.95]), bands, rows)
    assert p[0] < 0.1 and 0.3 < p[1] < 0.9 and p[2] > 0.99
    with pytest.raises(ValueError):
        optimal_bands(1.5, 128)


def test_signature_estimates_jaccard():
    shingling = Shingling.parse("word:3")
    a = shingle_hashes(BASE, shingling)
    b = shingle_hashes(BASE.replace("museum", "gallery"), shingling)
    hasher = MinHasher(num_perm=256, seed=1)
    estimate = np.mean(hasher.signature(a) == hasher.signature(b))
    assert abs(estimate - exact_jaccard(a, b)) < 0.1
    assert shingle_hashes("", shingling).size == 0
    with pytest.raises(ValueError, match="word:N or char:N"):
        Shingling.parse("token:3")


def test_near_duplicate_dropped_first_kept_and_unrelated_left_alone():
    near = BASE.replace("small", "little")
    other = "Granite is a coarse-grained igneous rock composed mostly of quartz and feldspar."
    out = list(MinHashDedup(threshold=0.7).run(docs(BASE, other, near, "")))
    assert [d.kept for d in out] == [True, True, False, True]
    reason = out[2].drop
    assert (reason.rule, reason.threshold) == ("near_duplicate", 0.7)
    assert 0.5 < reason.value <= 1.0
    assert out[2].meta["duplicate_of"] == "d0"


def test_dedup_is_deterministic_and_already_dropped_docs_pass_through():
    texts = [BASE, BASE.replace("south", "southward"), BASE + " It floods each spring."]

    def verdicts():
        batch = docs(*texts)
        batch[0].drop = DropReason("earlier", "some_rule", None, None)
        return [
            (d.id, d.drop is None, d.meta.get("duplicate_of"))
            for d in MinHashDedup(threshold=0.6).run(batch)
        ]

    first = verdicts()
    assert first == verdicts()
    assert first[1:] == [("d1", True, None), ("d2", False, "d1")]  # d0 was never indexed


def test_verify_removes_false_candidates():
    # A low threshold with few hashes makes LSH candidates of unrelated texts; verify rejects them.
    texts = [f"item {i} of the list is number {i * 7}" for i in range(40)]
    loose = list(MinHashDedup(threshold=0.3, num_perm=16, shingle="word:1").run(docs(*texts)))
    strict = list(
        MinHashDedup(threshold=0.3, num_perm=16, shingle="word:1", verify=True).run(docs(*texts))
    )
    assert sum(not d.kept for d in strict) <= sum(not d.kept for d in loose)
    for d in strict:
        if not d.kept:
            kept = next(t for t in strict if t.id == d.meta["duplicate_of"])
            assert kept.kept


def test_korean_char_shingles_catch_particle_changes_that_word_shingles_miss():
    ko = "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다. 매년 봄에 축제가 열린다."
    variant = "카모리가 벨덴 지방에 있는 마을이다. 주된 수출품은 구리이다. 매년 봄에 축제가 열린다."
    by_word = list(MinHashDedup(threshold=0.5, shingle="word:3").run(docs(ko, variant)))
    by_char = list(
        MinHashDedup(threshold=0.5, shingle="word:3", hangul_shingle="char:3").run(
            docs(ko, variant)
        )
    )
    assert by_word[1].kept and not by_char[1].kept


def test_lab_near_duplicates_found_with_few_clean_losses(small_lab_docs):
    raw, truth = small_lab_docs
    batch = [Document(r["id"], r["text"], dict(r["meta"])) for r in raw]
    dedup = MinHashDedup(threshold=0.55, shingle="word:3", verify=True)
    out = list(run_steps(batch, [BoilerplateLineRemover(), ExactDedup(), dedup]))
    near = [d for d in out if truth[d.id]["planted"] == "near_dup"]
    assert sum(not d.kept for d in near) / len(near) >= 0.9
    clean = [d for d in out if truth[d.id]["planted"] == "clean"]
    assert sum(not d.kept for d in clean) / len(clean) <= 0.02
