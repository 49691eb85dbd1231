"""The unit that flows through curation: a `Document`, and why it was dropped (`DropReason`).

A document is never deleted by a step. To drop one, a step sets `doc.drop` to a `DropReason`
naming the step, the rule, the value it measured and the threshold that value crossed; the
document keeps flowing so that every input ends up either kept or dropped with a reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DropReason:
    """Why a document was dropped: `step` applied `rule`, measured `value` against `threshold`."""

    step: str
    rule: str
    value: float | str | None
    threshold: float | str | None


@dataclass
class Document:
    """One text with its id and free-form metadata; `drop` is set once a step rejects it."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    drop: DropReason | None = None

    @property
    def kept(self) -> bool:
        return self.drop is None

    def to_record(self) -> dict[str, Any]:
        """The JSON record `{"id", "text", "meta"}`, plus `"reason"` if it was dropped."""
        record: dict[str, Any] = {"id": self.id, "text": self.text, "meta": self.meta}
        if self.drop is not None:
            record["reason"] = asdict(self.drop)
        return record
