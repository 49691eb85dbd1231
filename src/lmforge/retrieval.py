"""The one retrieval contract: `retriever.search(query, k) -> list[Passage]`, best first.

Verify-and-edit, RAG answering and the agents' search tool all take any object with this
method: an in-memory `prompting.retrieval.TextRetriever` over a few texts, or a
`lmforge.rag.Index` over a LanceDB table. Scores are comparable within one result list only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of text, with where it came from (path, title, page, ...)."""

    id: str
    text: str
    score: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


class Retriever(Protocol):
    def search(self, query: str, k: int = 5) -> list[Passage]: ...
