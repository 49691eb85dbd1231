"""What a curation run tells its reader: counts per rule, examples, PII kinds, duplicate clusters.

`Tally` watches every document leaving the last step (`curate.curate` feeds it) and keeps only
counts and two examples per rule, so memory stays flat. `write_report` renders `report.md`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmforge.data.document import Document
from lmforge.data.step import Step

EXAMPLES_PER_RULE = 2
EXAMPLE_CHARS = 300
DUPLICATE_RULES = ("exact_duplicate", "near_duplicate")


class Tally:
    """Counts by drop rule, the first dropped documents of each rule, PII kinds, clusters."""

    def __init__(self) -> None:
        self.by_rule: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, Any]]] = {}
        self.pii: Counter[str] = Counter()
        self.cluster_dropped: Counter[str] = Counter()  # kept id -> duplicates dropped

    def add(self, doc: Document) -> None:
        self.pii.update(doc.meta.get("pii", {}))
        if doc.drop is None:
            return
        rule = doc.drop.rule
        self.by_rule[rule] += 1
        examples = self.samples.setdefault(rule, [])
        if len(examples) < EXAMPLES_PER_RULE:
            examples.append({"id": doc.id, "text": doc.text, "reason": asdict(doc.drop)})
        if rule in DUPLICATE_RULES:
            kept = doc.meta.get("duplicate_of", doc.drop.value)
            self.cluster_dropped[str(kept)] += 1

    def extra_stats(self, steps: Sequence[Step]) -> dict[str, Any]:
        """Stats only some pipelines have: PII counts, duplicate cluster sizes."""
        from lmforge.data.dedup import MinHashDedup
        from lmforge.data.pii import PiiRedactor

        extra: dict[str, Any] = {}
        if any(isinstance(s, PiiRedactor) for s in steps):
            extra["pii_by_kind"] = dict(sorted(self.pii.items()))
        if any(isinstance(s, MinHashDedup) for s in steps):
            sizes = Counter(n + 1 for n in self.cluster_dropped.values())
            extra["duplicate_clusters"] = {
                "clusters": len(self.cluster_dropped),
                "documents_dropped": sum(self.cluster_dropped.values()),
                "largest": max(sizes, default=0),
                "by_size": {str(k): v for k, v in sorted(sizes.items())},
            }
        return extra


def write_report(
    path: Path,
    stats: dict[str, Any],
    samples: dict[str, list[dict[str, Any]]],
    recipe: dict[str, Any] | None,
) -> None:
    """Render `report.md` from the stats and the examples of dropped documents."""
    title = f"recipe `{recipe['name']}`" if recipe else "curation"
    lines = [f"# Curation report: {title}", ""]
    lines += [f"- {k}: {stats[k]}" for k in ("read", "kept", "dropped", "quarantined")]
    lines += ["", "## Dropped, by rule", "", "| rule | documents |", "|---|---|"]
    lines += [f"| {rule} | {n} |" for rule, n in stats["dropped_by_rule"].items()]
    for rule, examples in sorted(samples.items()):
        lines += ["", f"### {rule}", ""]
        for ex in examples:
            reason = ex["reason"]
            lines.append(
                f"- `{ex['id']}` (step {reason['step']}, value {reason['value']}, "
                f"threshold {reason['threshold']}): {_quote(ex['text'])}"
            )
    if "pii_by_kind" in stats:
        lines += ["", "## PII redacted, by kind", "", "| kind | spans |", "|---|---|"]
        lines += [f"| {k} | {n} |" for k, n in stats["pii_by_kind"].items()] or ["| none | 0 |"]
    if "duplicate_clusters" in stats:
        clusters = stats["duplicate_clusters"]
        lines += ["", "## Duplicate clusters", ""]
        lines.append(f"{clusters['clusters']} clusters, largest {clusters['largest']} documents.")
        lines += ["", "| cluster size | clusters |", "|---|---|"]
        lines += [f"| {size} | {n} |" for size, n in clusters["by_size"].items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _quote(text: str) -> str:
    short = " ".join(text.split())
    if len(short) > EXAMPLE_CHARS:
        short = short[:EXAMPLE_CHARS] + " …"
    return "«" + short.replace("|", "\\|") + "»"
