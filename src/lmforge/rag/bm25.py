"""BM25 over the chunks with `bm25s`, and a tokenizer that works for English and Korean.

    tokens("할타로는 1853년에 세워졌다")  # ['할타로', '할타', '타로', '로는', '1853', '년', ...]

bm25s's own tokenizer splits on word characters only, which leaves Korean eojeol (a word plus
its particles: 할타로는, 할타로의, 할타로에서) as distinct tokens that never match. So the
tokenizer here is hand-written: text is case-folded and cut into runs of one script. A Hangul
run gives its stem with one common particle or copula stripped (when two syllables remain) and
its character bigrams, the usual CJK fallback that matches inflected forms. Other runs drop
bm25s's English stop words and go through Harman's S-stemmer (plural -s/-es/-ies only: no
stemming library is a dependency, and this conservative rule rarely conflates words).

The index is rebuilt from the chunks table after each indexing run (bm25s cannot update in
place) and saved with the table version it reflects; a stale one is rebuilt on open.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

RUN = re.compile(r"[가-힣]+|[^\W\d_가-힣]+|\d+")
# particles and copula forms stripped from a Hangul run, longest first
PARTICLES = sorted(
    re.findall(
        r"\S+",
        "에서는 에게서 으로는 으로서 이라는 인가요 입니다 입니까 에서 에게 께서 까지 부터 "
        "처럼 보다 이다 이며 이고 라는 으로 은 는 이 가 을 를 의 에 와 과 도 로 만",
    ),
    key=len,
    reverse=True,
)


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def s_stem(word: str) -> str:
    """Harman's S-stemmer: ies -> y, es -> e, s -> '' (with its exceptions)."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _hangul(run: str) -> list[str]:
    stem = run
    for particle in PARTICLES:
        if run.endswith(particle) and len(run) - len(particle) >= 2:
            stem = run[: -len(particle)]
            break
    grams = [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 2 else []
    return [stem, *grams]


def tokens(text: str, stopwords: frozenset[str] | None = None) -> list[str]:
    """BM25 terms of a text (see the module docstring)."""
    stopwords = _stopwords() if stopwords is None else stopwords
    out: list[str] = []
    for run in RUN.findall(text.casefold()):
        if "가" <= run[0] <= "힣":
            out.extend(_hangul(run))
        elif run not in stopwords:
            out.append(s_stem(run))
    return out


class Bm25:
    """A bm25s index over chunk ids; `search` returns (chunk id, score) with score > 0."""

    def __init__(self, ids: list[str], retriever=None) -> None:
        self.ids, self.retriever = ids, retriever
        self.position = {chunk_id: i for i, chunk_id in enumerate(ids)}

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> Bm25:
        if not ids:
            return cls([])
        import bm25s

        stopwords = _stopwords()
        retriever = bm25s.BM25()
        retriever.index([tokens(t, stopwords) for t in texts], show_progress=False)
        return cls(ids, retriever)

    def search(
        self, query: str, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        if self.retriever is None:
            return []
        vocab = self.retriever.vocab_dict
        terms = [t for t in tokens(query) if t in vocab]
        if not terms:
            return []
        scores = np.asarray(self.retriever.get_scores(terms), dtype=np.float64)
        if allowed is not None:  # metadata filter: score only the chunks it lets through
            mask = np.zeros(len(scores), dtype=bool)
            mask[[self.position[i] for i in allowed if i in self.position]] = True
            scores = np.where(mask, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]

    def save(self, directory: Path, stamp: int) -> None:
        """Write to `directory` atomically (a new folder renamed into place)."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps({"stamp": stamp, "ids": self.ids}))
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> tuple[Bm25, int] | None:
        """The saved index and the chunks-table version it reflects; None if there is none."""
        meta = directory / "ids.json"
        if not meta.is_file():
            return None
        saved = json.loads(meta.read_text())
        if not saved["ids"]:
            return cls([]), saved["stamp"]
        import bm25s

        retriever = bm25s.BM25.load(str(directory), show_progress=False)
        return cls(saved["ids"], retriever), saved["stamp"]
