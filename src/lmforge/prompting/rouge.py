"""ROUGE-L F-measure on word tokens, via the longest common subsequence.

Hand-written (30 lines of dynamic programming) rather than the `rouge-score` package: that
package pulls in nltk and absl for one function, and lmforge installs nothing it can avoid.
Tokens follow rouge-score's default: lower-cased runs of letters and digits (here `\\w+`, so
Korean words count too). F = 2PR / (P + R) with P = LCS / |candidate|, R = LCS / |reference|.
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (one row of the table at a time)."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of two texts; 0 when either has no words."""
    a, b = tokens(candidate), tokens(reference)
    if not a or not b:
        return 0.0
    common = lcs_length(a, b)
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)
