"""First-cut curation steps: boilerplate line removal, junk rules, exact deduplication.

    from lmforge.data.filters import BoilerplateLineRemover, ExactDedup, JunkFilter
    docs = run_steps(read_docs, [BoilerplateLineRemover(), JunkFilter(), ExactDedup()])

Every step follows the contract in `lmforge.data.step`: it yields every document and drops
one by setting `doc.drop`. English and Korean are treated alike: Hangul syllables count as
letters, and a "word" is a whitespace-separated token, which for Korean is an eojeol (a word
plus its particles), so the thresholds below hold for both languages (see `textstats`).

The rules are a few lines each and tied to our Document/DropReason contract, so they are
written here rather than pulled from a curation library (datatrove and friends bring their
own pipeline model and heavy dependencies); the fuller rule sets will grow next to these.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lmforge.data.boilerplate import BOILERPLATE_PATTERNS, BoilerplateMatcher
from lmforge.data.document import Document, DropReason
from lmforge.data.step import DocumentStep
from lmforge.data.textstats import (
    duplicate_line_fraction,
    function_word_ratio,
    letter_ratio,
    normalized_words,
    top_word_fraction,
    word_variety,
)

__all__ = ["BoilerplateLineRemover", "ExactDedup", "JunkFilter", "normalize_for_dedup"]


def normalize_for_dedup(text: str) -> str:
    """NFKC, casefolded, whitespace collapsed and stripped: what "the same text" means."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class ExactDedup:
    """Drop documents whose normalised text was already seen; the first one (in order) is kept.

    The dropped document's reason has rule "exact_duplicate" and value = the kept document's id.
    Only a 16-byte digest and an id per kept document stay in memory. Dedup covers the
    documents this call sees: with `world_size > 1` each rank dedups its own shard, and
    cross-shard dedup is the job of a later (MinHash) step.
    """

    name: str = "exact_dedup"

    def run(
        self, docs: Iterable[Document], rank: int = 0, world_size: int = 1
    ) -> Iterator[Document]:
        first_id: dict[bytes, str] = {}  # per run, so one step object can be reused safely
        for doc in docs:
            if doc.drop is None:
                digest = hashlib.blake2b(
                    normalize_for_dedup(doc.text).encode("utf-8"), digest_size=16
                ).digest()
                if digest in first_id:
                    doc.drop = DropReason(self.name, "exact_duplicate", first_id[digest], None)
                else:
                    first_id[digest] = doc.id
            yield doc


@dataclass
class JunkFilter(DocumentStep):
    """Drop documents that are not natural prose. Rules, checked in this order:

    - "lorem_ipsum": the text contains "lorem ipsum" (value: occurrences, threshold: 1).
    - "too_short": fewer than `min_chars` characters after stripping.
    - "too_few_words": fewer than `min_words` words.
    - "low_letter_ratio": letters / non-space characters < `min_letter_ratio` (character soup,
      tables of numbers, markup).
    - "duplicate_lines": the fraction of non-blank lines that repeat an earlier line is
      >= `max_duplicate_line_fraction` (a line pasted many times).
    - "top_word_repetition": the most frequent word is > `max_top_word_fraction` of the words
      ("buy cheap buy cheap ...").
    - "low_word_variety": distinct / all words, averaged over 50-word chunks, is
      < `min_word_variety` (spam that mixes a few phrases, none dominant).
    - "low_function_word_ratio": the share of English function words ("the", "is", ...) and
      Korean eojeol ending in a particle or ending (은/는/이/가/를/의/다/...) is
      < `min_function_word_ratio`: prose has them, character soup (Hangul soup included,
      which passes the letter ratio) and keyword lists do not. Tuned for English and Korean;
      text in other languages fails it until language ID gives them their own lists.

    The three word-statistics rules apply from `repetition_min_words` words on (a document
    that short says too little to judge). Words and letters: see `lmforge.data.textstats`.
    The defaults keep short encyclopedia-style paragraphs in English and Korean.
    """

    name: str = "junk"
    min_chars: int = 20
    min_words: int = 5
    min_letter_ratio: float = 0.6
    max_duplicate_line_fraction: float = 0.3
    max_top_word_fraction: float = 0.3
    min_word_variety: float = 0.3
    min_function_word_ratio: float = 0.1
    repetition_min_words: int = 10
    drop_lorem_ipsum: bool = True

    def apply(self, doc: Document) -> DropReason | None:
        text = doc.text.strip()
        n_words = len(text.split())
        lorem = text.casefold().count("lorem ipsum")
        if self.drop_lorem_ipsum and lorem:
            return self.reason("lorem_ipsum", lorem, 1)
        if len(text) < self.min_chars:
            return self.reason("too_short", len(text), self.min_chars)
        if n_words < self.min_words:
            return self.reason("too_few_words", n_words, self.min_words)
        ratio = letter_ratio(text)
        if ratio < self.min_letter_ratio:
            return self.reason("low_letter_ratio", round(ratio, 4), self.min_letter_ratio)
        dup = duplicate_line_fraction(text)
        if dup >= self.max_duplicate_line_fraction:
            return self.reason("duplicate_lines", round(dup, 4), self.max_duplicate_line_fraction)
        if n_words >= self.repetition_min_words:
            return self._word_rules(normalized_words(text))
        return None

    def _word_rules(self, words: list[str]) -> DropReason | None:
        top = top_word_fraction(words)
        if top > self.max_top_word_fraction:
            return self.reason("top_word_repetition", round(top, 4), self.max_top_word_fraction)
        variety = word_variety(words)
        if variety < self.min_word_variety:
            return self.reason("low_word_variety", round(variety, 4), self.min_word_variety)
        function = function_word_ratio(words)
        if function < self.min_function_word_ratio:
            rule, threshold = "low_function_word_ratio", self.min_function_word_ratio
            return self.reason(rule, round(function, 4), threshold)
        return None


@dataclass
class BoilerplateLineRemover(DocumentStep):
    """Remove boilerplate lines (navigation, cookie banners, copyright notices, ...).

    A line counts as boilerplate when it is at most `max_line_chars` long and matches one of
    `patterns` (see `lmforge.data.boilerplate.BOILERPLATE_PATTERNS`, English and Korean), or
    is a navigation bar or breadcrumb trail: `min_nav_items`+ short items separated by "|",
    " · ", " • " or " > ".
    Long lines are never removed: a paragraph that mentions cookies is content.

    The number of removed lines goes to `meta["boilerplate_lines_removed"]`. A document with
    nothing but boilerplate is dropped with rule "only_boilerplate" (value: lines removed) and
    keeps its original text, so the drop can be audited.
    """

    name: str = "boilerplate"
    max_line_chars: int = 200
    min_nav_items: int = 3
    max_nav_item_chars: int = 30
    patterns: tuple[tuple[str, str], ...] = BOILERPLATE_PATTERNS
    _matcher: BoilerplateMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._matcher = BoilerplateMatcher(
            self.patterns, self.max_line_chars, self.min_nav_items, self.max_nav_item_chars
        )

    def apply(self, doc: Document) -> DropReason | None:
        lines = doc.text.split("\n")
        kept = [line for line in lines if not self._matcher.is_boilerplate(line)]
        removed = len(lines) - len(kept)
        doc.meta["boilerplate_lines_removed"] = removed
        if removed == 0:
            return None
        text = "\n".join(kept).strip("\n")
        if not text.strip():
            return self.reason("only_boilerplate", removed, None)
        doc.text = text
        return None
