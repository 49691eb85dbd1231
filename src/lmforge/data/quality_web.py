"""C4 and FineWeb quality filters (line-level web-text heuristics), Korean-aware.

    docs = run_steps(docs, [C4QualityFilter(), FineWebQualityFilter()])

C4QualityFilter edits documents (it removes lines) before judging them; FineWebQualityFilter
only judges. Korean: terminal punctuation includes the full-width forms, policy lines include
their Korean wording, and Korean lines count eojeol as words. See docs/curation.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmforge.data import quality_stats as qs
from lmforge.data.document import Document, DropReason
from lmforge.data.step import DocumentStep

# C4 (Raffel et al. 2020) END_PUNCTUATION, plus full-width and CJK sentence ends.
TERMINAL_PUNCTUATION = (".", "?", "!", '"', "'", "。", "？", "！", "”", "’")
ELLIPSIS = ("...", "…")
# datatrove's C4 POLICY_SUBSTRINGS, plus Korean equivalents (privacy policy, terms, cookies).
POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
    "use cookies", "개인정보처리방침", "개인정보 처리방침", "이용약관", "쿠키를 사용",
)  # fmt: skip
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)


@dataclass
class C4QualityFilter(DocumentStep):
    """Raffel et al. 2020; `datatrove/pipeline/filters/c4_filters.py` (C4QualityFilter).

    Lines are removed when they do not end in terminal punctuation (or end in an ellipsis),
    have fewer than `min_words_per_line` words, hold a word longer than `max_word_length`,
    mention "javascript", or hold a policy phrase; wiki citations ("[1]") are cut. The
    document is dropped if it contains "lorem ipsum" ("c4_lorem_ipsum") or "{"
    ("c4_curly_bracket", code and templates), or if fewer than `min_sentences` sentences are
    left ("c4_min_sentences"). Defaults are datatrove's.
    """

    name: str = "c4_quality"
    min_sentences: int = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    remove_citations: bool = True
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True
    filter_javascript: bool = True
    filter_policy: bool = True

    def apply(self, doc: Document) -> DropReason | None:
        lowered = doc.text.casefold()
        if self.filter_lorem_ipsum and "lorem ipsum" in lowered:
            return self.reason("c4_lorem_ipsum", lowered.count("lorem ipsum"), 1)
        if self.filter_curly_bracket and "{" in doc.text:
            return self.reason("c4_curly_bracket", doc.text.count("{"), 1)
        kept = [line for line in map(self._clean, doc.text.splitlines()) if self._keep(line)]
        text = "\n".join(kept)
        sentences = qs.sentence_count(text)
        if sentences < self.min_sentences:
            return self.reason("c4_min_sentences", sentences, self.min_sentences)
        doc.meta["c4_lines_removed"] = len(qs.nonblank_lines(doc.text)) - len(kept)
        doc.text = text
        return None

    def _clean(self, line: str) -> str:
        line = line.strip()
        return _CITATION.sub("", line) if self.remove_citations else line

    def _keep(self, line: str) -> bool:
        if not line.endswith(TERMINAL_PUNCTUATION) or line.endswith(ELLIPSIS):
            return False
        words = line.split()
        if len(words) < self.min_words_per_line:
            return False
        if any(len(w) > self.max_word_length for w in words):
            return False
        lowered = line.casefold()
        if self.filter_javascript and "javascript" in lowered:
            return False
        return not (self.filter_policy and any(p in lowered for p in POLICY_SUBSTRINGS))


@dataclass
class FineWebQualityFilter(DocumentStep):
    """Penedo et al. 2024; `datatrove/pipeline/filters/fineweb_quality_filter.py`.

    Drop when the share of lines ending in terminal punctuation is < `line_punct_thr` (0.12),
    the share of lines of at most `short_line_length` (30) characters is > `short_line_thr`
    (0.67), the characters in duplicated lines are > `char_duplicates_ratio` (0.01) of all,
    or newlines per word are > `new_line_ratio` (0.3: a list, not prose). Korean documents
    use `ko_short_line_length` (a Hangul syllable carries about what 2-3 Latin letters do).
    """

    name: str = "fineweb_quality"
    line_punct_thr: float = 0.12
    short_line_thr: float = 0.67
    short_line_length: int = 30
    ko_short_line_length: int = 15
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3

    def apply(self, doc: Document) -> DropReason | None:
        lines = qs.nonblank_lines(doc.text)
        if not lines:
            return self.reason("fineweb_empty", 0, 1)
        punct = sum(line.endswith(TERMINAL_PUNCTUATION) for line in lines) / len(lines)
        if punct < self.line_punct_thr:
            return self.reason("fineweb_line_punct_ratio", round(punct, 4), self.line_punct_thr)
        korean = qs.is_korean(doc.text, doc.meta.get("lang"))
        short_len = self.ko_short_line_length if korean else self.short_line_length
        short = sum(len(line) <= short_len for line in lines) / len(lines)
        if short > self.short_line_thr:
            return self.reason("fineweb_short_line_ratio", round(short, 4), self.short_line_thr)
        _, dup_chars = qs.duplicate_fractions(lines)
        if dup_chars > self.char_duplicates_ratio:
            return self.reason(
                "fineweb_char_dup_ratio", round(dup_chars, 4), self.char_duplicates_ratio
            )
        n_words = max(1, len(qs.words(doc.text)))
        newline = doc.text.count("\n") / n_words
        if newline > self.new_line_ratio:
            return self.reason("fineweb_list_ratio", round(newline, 4), self.new_line_ratio)
        return None
