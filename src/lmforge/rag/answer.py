"""Answering from retrieved chunks: the numbered-sources prompt, citations, and refusal.

The prompt lists the retrieved chunks as numbered sources ([1] title — heading (doc id, page)
then the text) and asks for an answer that cites them as [n], in the question's language.
Chat models get it as a system message (the rules) and a user message (sources + question);
completion models as one text ending in "Answer:". Sources that do not fit the model's window
are dropped from the end (the least relevant first).

When nothing relevant was retrieved — no passage with a dense cosine of at least `min_dense`
or a BM25 score of at least `min_bm25` — the model is not asked: the answer says the documents
hold nothing on the question, instead of letting the model invent one. Citations are read back
from the reply; numbers that name no source are kept apart as invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend, Prompt
from lmforge.retrieval import Passage

RULES = (  # short: every token of it is taken from the sources' share of the window
    "Use only the numbered sources and cite them as [1], [2]. If they do not answer the "
    "question, say so. Reply in the question's language."
)
NOT_FOUND = (
    "The indexed documents contain nothing relevant to this question, so I cannot answer it."
)
MIN_DENSE = 0.35  # cosine; MiniLM gives unrelated text ~0.0-0.2 and a paraphrase 0.5 or more
MIN_BM25 = 1.0  # one shared rare term scores about 1-3; a few shared common words much less
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass
class Answer:
    """A reply with its sources (numbered from 1 as in the prompt) and the numbers it cites."""

    question: str
    text: str
    passages: list[Passage]
    citations: list[int] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    refused: bool = False  # nothing relevant was retrieved, so no model was asked
    prompt: Prompt | None = None

    @property
    def cited(self) -> list[Passage]:
        return [self.passages[n - 1] for n in self.citations]

    def to_record(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": self.citations,
            "invalid_citations": self.invalid_citations,
            "sources": [{"n": i, "id": p.id, **source_fields(p)}
                        for i, p in enumerate(self.passages, start=1)],
        }  # fmt: skip


def source_fields(p: Passage) -> dict[str, Any]:
    return {key: p.metadata.get(key) for key in ("doc_id", "path", "title", "page", "heading")}


def source_label(p: Passage) -> str:
    """How a source is named in prompts and listings: "title — heading (doc id, page 3)"."""
    meta = p.metadata
    name = meta.get("title") or meta.get("doc_id") or p.id
    heading = meta.get("heading") or ""
    heading = heading.removeprefix(f"{name} > ")  # the title usually heads the breadcrumb
    if heading and heading != name:
        name += f" — {heading}"
    where = meta.get("doc_id") or ""
    if meta.get("page") is not None:
        where += f", page {meta['page']}"
    return f"{name} ({where})" if where else name


def format_sources(passages: list[Passage]) -> str:
    return "\n\n".join(
        f"[{i}] {source_label(p)}\n{p.text}" for i, p in enumerate(passages, start=1)
    )


def build_prompt(question: str, passages: list[Passage], mode: str) -> Prompt:
    sources = format_sources(passages)
    if mode == "chat":
        user = f"Sources:\n\n{sources}\n\nQuestion: {question}"
        return [{"role": "system", "content": RULES}, {"role": "user", "content": user}]
    return f"{RULES}\n\nSources:\n\n{sources}\n\nQuestion: {question}\nAnswer:"


def parse_citations(text: str, n_sources: int) -> tuple[list[int], list[int]]:
    """(valid source numbers in order of first use, numbers that name no source)."""
    valid: list[int] = []
    invalid: list[int] = []
    for match in CITATION.finditer(text):
        for number in (int(x) for x in match.group(1).split(",")):
            target = valid if 1 <= number <= n_sources else invalid
            if number not in target:
                target.append(number)
    return valid, invalid


def relevant(passages: list[Passage], min_dense: float, min_bm25: float) -> list[Passage]:
    """The passages that some retriever scored as a real match (see the module docstring)."""

    def passes(p: Passage) -> bool:
        dense, bm25 = p.metadata.get("dense_score"), p.metadata.get("bm25_score")
        return (dense is not None and dense >= min_dense) or (bm25 is not None and bm25 >= min_bm25)

    return [p for p in passages if passes(p)]


def fit_prompt(
    backend: Backend, question: str, passages: list[Passage], mode: str, max_tokens: int
) -> tuple[Prompt, list[Passage]]:
    """The prompt with as many sources as fit the window (with room for the answer)."""
    window = backend.context_window
    for n in range(len(passages), 0, -1):
        prompt = build_prompt(question, passages[:n], mode)
        used = backend.count_tokens(prompt) if window else None
        if used is None or used + max_tokens <= window:
            return prompt, passages[:n]
    raise LmforgeError(
        f"the question with even one source does not fit {backend.name}'s {window}-token window"
        f" (leaving {max_tokens} tokens for the answer).",
        "Lower --max-tokens, index with a smaller --chunk-tokens, or use a longer-context model.",
    )


def answer(
    backend: Backend, question: str, passages: list[Passage], *, mode: str = "auto",
    max_tokens: int = 256, min_dense: float = MIN_DENSE, min_bm25: float = MIN_BM25,
) -> Answer:  # fmt: skip
    """Ask `backend` to answer from the relevant `passages`, citing them; or refuse."""
    from lmforge.prompting.run import resolve_mode

    if not question.strip():
        raise LmforgeError("the question is empty.", "Ask a question.")
    chosen = relevant(passages, min_dense, min_bm25)
    if not chosen:
        return Answer(question, NOT_FOUND, [], refused=True)
    mode = resolve_mode(mode, backend)
    prompt, chosen = fit_prompt(backend, question, chosen, mode, max_tokens)
    stop = None if mode == "chat" else ["\nQuestion:"]
    reply = backend.generate(prompt, max_tokens=max_tokens, stop=stop).text.strip()
    valid, invalid = parse_citations(reply, len(chosen))
    return Answer(question, reply, chosen, valid, invalid, False, prompt)
