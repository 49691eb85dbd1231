"""MinHash signatures and LSH banding, vectorised with numpy; used by `dedup.MinHashDedup`.

    hasher = MinHasher(num_perm=128, seed=0)
    x = shingle_hashes("Kamori is a town in the Velden region.", Shingling("word", 5))
    sig = hasher.signature(x)                 # (128,) uint64
    bands, rows = optimal_bands(0.8, 128)     # minimises false-positive + false-negative area

Shingles: text is NFKC-normalised, casefolded and whitespace-collapsed; "word:n" takes n
consecutive words (edge punctuation stripped), "char:n" n consecutive characters (spaces
included) -- the unit for Korean, where one eojeol glues a word to its particles, so the
same noun with another particle shares no word shingle. Each token becomes a 64-bit integer
(characters: their code point; words: an 8-byte blake2b of the word, cached), an n-gram is a
polynomial of its tokens mixed by splitmix64, all in numpy over sliding windows.

MinHash uses the universal hash family h(x) = (a*x + b) mod p with p = 2^31 - 1: a, b, x < p
keep a*x + b < 2^62, so uint64 arithmetic is exact (a 2^61 - 1 prime would overflow). A
31-bit range is plenty: two distinct minima collide with probability ~2^-31 per permutation.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lmforge.data.textstats import normalized_words

PRIME = np.uint64((1 << 31) - 1)
_CHUNK = 2048  # shingles hashed per numpy call: bounds the (chunk, num_perm) matrix
_BASE = np.uint64(0x100000001B3)  # odd multiplier for the n-gram polynomial


@dataclass(frozen=True)
class Shingling:
    """How a text becomes a set of shingles: `kind` "word" or "char", `n` tokens each."""

    kind: str
    n: int

    @classmethod
    def parse(cls, spec: str) -> Shingling:
        """ "word:5" -> Shingling("word", 5); raises ValueError naming the problem."""
        kind, _, n = spec.partition(":")
        if kind not in ("word", "char") or not n.isdigit() or int(n) < 1:
            raise ValueError(f"shingle spec {spec!r} is not word:N or char:N (N >= 1)")
        return cls(kind, int(n))

    def __str__(self) -> str:
        return f"{self.kind}:{self.n}"


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _tokens(text: str, shingling: Shingling) -> np.ndarray:
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    if shingling.kind == "char":
        return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return np.fromiter(map(_word_hash, normalized_words(text)), dtype=np.uint64)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def shingle_hashes(text: str, shingling: Shingling) -> np.ndarray:
    """The distinct shingles of `text` as sorted uint64 values in [0, PRIME).

    A text shorter than n tokens is one shingle; an empty text has none.
    """
    tokens = _tokens(text, shingling)
    if tokens.size == 0:
        return tokens
    n = min(shingling.n, tokens.size)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, n)
    powers = _BASE ** np.arange(n, dtype=np.uint64)  # wraps mod 2^64, on purpose
    with np.errstate(over="ignore"):
        grams = _splitmix64((windows * powers).sum(axis=1, dtype=np.uint64))
    return np.unique(grams % PRIME)


class MinHasher:
    """`num_perm` universal hash functions drawn from `seed`; same seed, same signatures."""

    def __init__(self, num_perm: int = 128, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        p = int(PRIME)
        self.num_perm = num_perm
        self.a = rng.integers(1, p, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, p, size=num_perm, dtype=np.uint64)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """Min over all shingles of (a*x + b) mod p, per hash function: shape (num_perm,)."""
        sig = np.full(self.num_perm, PRIME, dtype=np.uint64)
        for start in range(0, shingles.size, _CHUNK):  # chunks, never single shingles
            x = shingles[start : start + _CHUNK, None]
            np.minimum(sig, ((x * self.a + self.b) % PRIME).min(axis=0), out=sig)
        return sig


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The share of hash functions whose minima agree: an unbiased Jaccard estimate."""
    return float(np.mean(sig_a == sig_b))


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two sorted arrays of distinct shingle hashes."""
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def candidate_probability(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """P(two documents of Jaccard s share at least one band): 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the weighted error areas.

    False-positive area: the integral of P(candidate) over Jaccard [0, threshold];
    false-negative area: of 1 - P(candidate) over [threshold, 1] -- datasketch's
    `_optimal_param`, integrated here with the trapezoid rule on a 201-point grid.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    lo, hi = np.linspace(0.0, threshold, 201), np.linspace(threshold, 1.0, 201)
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(candidate_probability(lo, bands, rows), lo)
            fn = np.trapezoid(1.0 - candidate_probability(hi, bands, rows), hi)
            error = fp_weight * fp + fn_weight * fn
            if error < best_error:
                best, best_error = (bands, rows), error
    return best
