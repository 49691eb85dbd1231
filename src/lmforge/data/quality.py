"""Heuristic quality filters after Gopher, C4 and FineWeb, with Korean-aware variants.

    from lmforge.data.quality import GopherQualityFilter, GopherRepetitionFilter, ...
    docs = run_steps(docs, [GopherQualityFilter(min_words=20), FineWebQualityFilter()])

Defaults are the published ones as datatrove implements them (file names cited per class).
Every drop names the rule, the measured value and the threshold it crossed. A document is
Korean when `meta["lang"] == "ko"`, or, without a lang, when most letters are Hangul; Korean
documents use the `ko_*` settings (calibrated on the lab world, see docs/curation.md).
Measurements live in `quality_stats.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.data import quality_stats as qs
from lmforge.data.document import Document, DropReason
from lmforge.data.step import DocumentStep


def _korean(doc: Document) -> bool:
    return qs.is_korean(doc.text, doc.meta.get("lang"))


@dataclass
class GopherQualityFilter(DocumentStep):
    """Rae et al. 2021, app. A; `datatrove/pipeline/filters/gopher_quality_filter.py`.

    Defaults: 50-100,000 words, mean word length 3-10 characters, "#" and ellipsis count
    <= 0.1 per word, <= 90% of lines starting with a bullet, <= 30% ending with an ellipsis,
    >= 80% of words holding a letter, >= 2 of the stop words "the, be, to, of, and, that,
    have, with". Korean: words are eojeol (`ko_word_unit="char"` counts syllables instead,
    and skips the word-length rule), stop words are eojeol ending in a particle (이, 가, 은,
    는, 을, 를, 의, 에, 에서, 와, 과, 도, 로, 으로), mean eojeol length `ko_min/max_mean_word_len`
    and, if set, `ko_min_words` (a Korean text has about 0.6 eojeol per English word).
    """

    name: str = "gopher_quality"
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_len: float = 3.0
    max_mean_word_len: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    ko_min_words: int | None = None
    ko_word_unit: str = "eojeol"
    ko_min_mean_word_len: float = 1.5
    ko_max_mean_word_len: float = 8.0

    def apply(self, doc: Document) -> DropReason | None:
        korean = _korean(doc)
        unit = self.ko_word_unit if korean else "eojeol"
        tokens = qs.words(doc.text, unit)
        n = len(tokens)
        least = self.ko_min_words if korean and self.ko_min_words is not None else self.min_words
        if n < least:
            return self.reason("gopher_min_words", n, least)
        if n > self.max_words:
            return self.reason("gopher_max_words", n, self.max_words)
        if unit == "eojeol":
            bad = self._word_length(tokens, korean)
            if bad:
                return bad
        return self._symbols_and_lines(doc.text, n) or self._words(tokens, korean, doc.text)

    def _word_length(self, tokens: list[str], korean: bool) -> DropReason | None:
        lo, hi = (
            (self.ko_min_mean_word_len, self.ko_max_mean_word_len)
            if korean
            else (self.min_mean_word_len, self.max_mean_word_len)
        )
        mean = sum(map(len, tokens)) / len(tokens)
        if mean < lo:
            return self.reason("gopher_min_mean_word_len", round(mean, 3), lo)
        if mean > hi:
            return self.reason("gopher_max_mean_word_len", round(mean, 3), hi)
        return None

    def _symbols_and_lines(self, text: str, n_words: int) -> DropReason | None:
        symbols = (text.count("#") + text.count("...") + text.count("…")) / n_words
        if symbols > self.max_symbol_word_ratio:
            return self.reason(
                "gopher_symbol_word_ratio", round(symbols, 4), self.max_symbol_word_ratio
            )
        lines = qs.nonblank_lines(text)
        bullets = sum(line.startswith(("•", "-", "*", "·", "▪", "●")) for line in lines) / len(
            lines
        )
        if bullets > self.max_bullet_lines_ratio:
            return self.reason(
                "gopher_bullet_lines", round(bullets, 4), self.max_bullet_lines_ratio
            )
        ellipsis = sum(line.endswith(("...", "…")) for line in lines) / len(lines)
        if ellipsis > self.max_ellipsis_lines_ratio:
            return self.reason(
                "gopher_ellipsis_lines", round(ellipsis, 4), self.max_ellipsis_lines_ratio
            )
        return None

    def _words(self, tokens: list[str], korean: bool, text: str) -> DropReason | None:
        alpha = sum(any(c.isalpha() for c in t) for t in tokens) / len(tokens)
        if alpha < self.min_alpha_words_ratio:
            return self.reason("gopher_alpha_words", round(alpha, 4), self.min_alpha_words_ratio)
        count = qs.korean_stop_word_count if korean else qs.english_stop_word_count
        stops = count(qs.words(text))  # particles end eojeol, whatever the word unit
        if stops < self.min_stop_words:
            return self.reason("gopher_stop_words", stops, self.min_stop_words)
        return None


@dataclass
class GopherRepetitionFilter(DocumentStep):
    """Rae et al. 2021, table A1; `datatrove/pipeline/filters/gopher_repetition_filter.py`.

    Duplicate lines <= 30% (count) and <= 20% (characters), the same for paragraphs; the top
    2/3/4-gram covers <= 20/18/16% of the characters; duplicated 5..10-grams cover <= 15, 14,
    13, 12, 11, 10%. Korean n-grams are over eojeol (or characters with `ko_word_unit`).
    """

    name: str = "gopher_repetition"
    max_dup_line_frac: float = 0.3
    max_dup_para_frac: float = 0.3
    max_dup_line_char_frac: float = 0.2
    max_dup_para_char_frac: float = 0.2
    top_ngrams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_ngrams: tuple[tuple[int, float], ...] = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10),
    )  # fmt: skip
    ko_word_unit: str = "eojeol"

    def apply(self, doc: Document) -> DropReason | None:
        paras = [p.strip() for p in doc.text.split("\n\n") if p.strip()]
        for kind, parts, max_n, max_c in (
            ("para", paras, self.max_dup_para_frac, self.max_dup_para_char_frac),
            (
                "line",
                qs.nonblank_lines(doc.text),
                self.max_dup_line_frac,
                self.max_dup_line_char_frac,
            ),
        ):
            frac, chars = qs.duplicate_fractions(parts)
            if frac > max_n:
                return self.reason(f"gopher_dup_{kind}_frac", round(frac, 4), max_n)
            if chars > max_c:
                return self.reason(f"gopher_dup_{kind}_char_frac", round(chars, 4), max_c)
        unit = self.ko_word_unit if _korean(doc) else "eojeol"
        tokens = [t.casefold() for t in qs.words(doc.text, unit)]
        for n, limit in self.top_ngrams:
            value = qs.top_ngram_char_fraction(tokens, n)
            if value > limit:
                return self.reason(f"gopher_top_{n}gram", round(value, 4), limit)
        for n, limit in self.dup_ngrams:
            value = qs.duplicated_ngram_char_fraction(tokens, n)
            if value > limit:
                return self.reason(f"gopher_dup_{n}gram", round(value, 4), limit)
        return None


@dataclass
class KoreanQualityFilter(DocumentStep):
    """Korean-only checks (other documents pass): Hangul share and chat noise.

    - "ko_hangul_ratio": a document marked Korean whose letters are < `min_hangul_ratio`
      Hangul (mislabelled, or romanised/English text).
    - "ko_chat_noise": characters in ㅋㅋ/ㅎㅎ/ㅠㅠ runs and emoticons (^^, T_T, ;;) over
      non-space characters > `max_chat_noise_ratio`: comment-section chatter, not prose.
    Both thresholds are calibrated on the lab world (docs/curation.md): clean Korean scores
    a Hangul share of 0.9+ and chat noise 0.
    """

    name: str = "korean_quality"
    min_hangul_ratio: float = 0.5
    max_chat_noise_ratio: float = 0.05

    def apply(self, doc: Document) -> DropReason | None:
        if doc.meta.get("lang", "ko") != "ko" or (not _korean(doc) and "lang" not in doc.meta):
            return None
        ratio = qs.hangul_ratio(doc.text)
        if ratio < self.min_hangul_ratio:
            return self.reason("ko_hangul_ratio", round(ratio, 4), self.min_hangul_ratio)
        noise = qs.chat_noise_ratio(doc.text)
        if noise > self.max_chat_noise_ratio:
            return self.reason("ko_chat_noise", round(noise, 4), self.max_chat_noise_ratio)
        return None
