"""How well MinHash-LSH dedup finds near duplicates in real text, against exact Jaccard.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_quality.py [--sample 600] [--threshold 0.8]

Corpus: the license texts under /usr/share/common-licenses and the /usr/share/doc/*/copyright
files (many packages paste the same licenses with small changes: natural near duplicates), plus
the raw web text of a small lab world. A random sample of `--sample` documents (each cut to
its first 4,000 characters) is compared pair by pair with exact Jaccard over the same shingles
(word 5-grams by default): that is the ground truth. Printed: pair-level recall and precision
of LSH candidates at the threshold, document-level recall/precision of `MinHashDedup` with and
without `--verify`, and the detection curve P(candidate) per Jaccard bucket next to the
theoretical 1 - (1 - s^r)^b.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from lmforge.data.dedup import MinHashDedup, UnionFind
from lmforge.data.document import Document
from lmforge.data.minhash import MinHasher, Shingling, candidate_probability, shingle_hashes
from lmforge.jsonl import iter_texts
from lmforge.lab.generate import generate_lab

MAX_CHARS = 4000
BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def corpus(lab_dir: Path) -> list[str]:
    files = sorted(Path("/usr/share/common-licenses").glob("*"))
    files += sorted(Path("/usr/share/doc").glob("*/copyright"))
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files if f.is_file()]
    generate_lab(lab_dir, seed=0, size="small")
    texts += list(iter_texts([lab_dir / "raw"]))
    return [t[:MAX_CHARS] for t in texts if t.strip()]


def exact_pairs(sets: list[frozenset[int]]) -> dict[tuple[int, int], float]:
    out = {}
    for i, j in itertools.combinations(range(len(sets)), 2):
        a, b = sets[i], sets[j]
        union = len(a | b)
        out[i, j] = len(a & b) / union if union else 1.0
    return out


def lsh_candidates(sigs: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for i, sig in enumerate(sigs):
            buckets.setdefault(sig[band * rows : (band + 1) * rows].tobytes(), []).append(i)
        for members in buckets.values():
            pairs.update(itertools.combinations(members, 2))
    return pairs


def truth_drops(jaccard: dict[tuple[int, int], float], n: int, threshold: float) -> set[int]:
    clusters = UnionFind()
    for _ in range(n):
        clusters.add()
    for (i, j), value in jaccard.items():
        if value >= threshold:
            clusters.union(i, j)
    return {i for i in range(n) if clusters.find(i) != i}


def step_drops(texts: list[str], args: argparse.Namespace, verify: bool) -> set[int]:
    step = MinHashDedup(threshold=args.threshold, shingle=args.shingle, verify=verify)
    docs = [Document(str(i), t, {}) for i, t in enumerate(texts)]
    return {i for i, d in enumerate(step.run(docs)) if not d.kept}


def pr(found: set, truth: set) -> str:
    hit = len(found & truth)
    recall = hit / len(truth) if truth else 1.0
    precision = hit / len(found) if found else 1.0
    return (
        f"recall {recall:.3f}  precision {precision:.3f}  (found {len(found)}, true {len(truth)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=600)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--shingle", default="word:5")
    parser.add_argument("--num-perm", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        texts = corpus(Path(tmp) / "lab")
    texts = random.Random(0).sample(texts, min(args.sample, len(texts)))
    shingling = Shingling.parse(args.shingle)
    hashes = [shingle_hashes(t, shingling) for t in texts]
    t0 = time.perf_counter()
    jaccard = exact_pairs([frozenset(h.tolist()) for h in hashes])
    t1 = time.perf_counter()
    step = MinHashDedup(threshold=args.threshold, shingle=args.shingle, num_perm=args.num_perm)
    hasher = MinHasher(args.num_perm, 0)
    sigs = np.stack([hasher.signature(h) for h in hashes])
    candidates = lsh_candidates(sigs, step.bands, step.rows)
    t2 = time.perf_counter()
    true_pairs = {p for p, v in jaccard.items() if v >= args.threshold}
    verified = {p for p in candidates if jaccard[p] >= args.threshold}
    print(
        f"documents {len(texts)}, pairs {len(jaccard)}, shingles {args.shingle}, "
        f"num_perm {args.num_perm}, bands x rows {step.bands} x {step.rows}"
    )
    print(f"exact all-pairs Jaccard {t1 - t0:.1f} s; signatures + LSH {t2 - t1:.2f} s")
    print(f"pairs, LSH candidates:          {pr(candidates, true_pairs)}")
    print(f"pairs, candidates + verify:     {pr(verified, true_pairs)}")
    truth = truth_drops(jaccard, len(texts), args.threshold)
    print(f"docs dropped, MinHashDedup:          {pr(step_drops(texts, args, False), truth)}")
    print(f"docs dropped, MinHashDedup --verify: {pr(step_drops(texts, args, True), truth)}")
    print("\nJaccard bucket   pairs   P(candidate)   theory")
    values = np.array(list(jaccard.values()))
    is_candidate = np.array([p in candidates for p in jaccard])
    for lo, hi in itertools.pairwise(BUCKETS):
        mask = (values >= lo) & (values < hi)
        if mask.any():
            mid = np.array([(lo + min(hi, 1.0)) / 2])
            theory = candidate_probability(mid, step.bands, step.rows)[0]
            print(
                f"[{lo:.1f}, {min(hi, 1.0):.1f})   {mask.sum():>7}   "
                f"{is_candidate[mask].mean():>12.3f}   {theory:.3f}"
            )


if __name__ == "__main__":
    main()
