"""The step contract, a base class for per-document steps, and how steps are chained.

A step is any object with a `name` and a generator method

    run(docs: Iterable[Document], rank: int = 0, world_size: int = 1) -> Iterator[Document]

that yields every document it receives, in order. To drop a document it sets `doc.drop`;
documents that arrive already dropped are passed on untouched. `rank`/`world_size` say which
shard of the corpus `docs` is (worker `rank` of `world_size`), so that steps with state across
documents (dedup) or with side outputs can coordinate once an executor runs shards in parallel;
single-process runs use the defaults.

Run a chain with `run_steps(docs, [BoilerplateLineRemover(), JunkFilter(), ExactDedup()])`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from lmforge.data.document import Document, DropReason


@runtime_checkable
class Step(Protocol):
    """Anything with a `name` and a `run` generator that yields every document it receives."""

    name: str

    def run(
        self, docs: Iterable[Document], rank: int = 0, world_size: int = 1
    ) -> Iterator[Document]: ...


class DocumentStep:
    """Base for steps that judge (and may edit) one document at a time, with no shared state.

    Subclasses set `name` and implement `apply(doc)`, returning a `DropReason` to drop the
    document or None to keep it; `apply` never sees an already-dropped document.
    """

    name: str = "step"

    def run(
        self, docs: Iterable[Document], rank: int = 0, world_size: int = 1
    ) -> Iterator[Document]:
        for doc in docs:
            if doc.drop is None:
                doc.drop = self.apply(doc)
            yield doc

    def apply(self, doc: Document) -> DropReason | None:
        raise NotImplementedError

    def reason(
        self, rule: str, value: float | str | None, threshold: float | str | None
    ) -> DropReason:
        """A `DropReason` from this step."""
        return DropReason(step=self.name, rule=rule, value=value, threshold=threshold)


def run_steps(
    docs: Iterable[Document], steps: Sequence[Step], rank: int = 0, world_size: int = 1
) -> Iterator[Document]:
    """Chain `steps` lazily: each document flows through all of them before the next is read."""
    stream: Iterable[Document] = docs
    for step in steps:
        stream = step.run(stream, rank=rank, world_size=world_size)
    yield from stream
