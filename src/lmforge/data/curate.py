"""Run curation steps over raw JSONL: `curate(inputs, out, steps)`, and the basic recipe.

    stats = curate_basic([Path("raw/")], Path("runs/curated"))   # boilerplate, junk, exact dup
    stats = curate([Path("raw/")], Path("out"), load_recipe("recipes/data/web-en-ko.yaml").steps)

writes, under `out/`:

    kept/docs.jsonl           {"id", "text", "meta"} per kept document
    dropped/docs.jsonl        the same plus "reason": {"step", "rule", "value", "threshold"}
    quarantine/records.jsonl  {"source", "line", "error", "raw"} per unreadable line
    stats.json                {"read", "kept", "dropped", "quarantined", "dropped_by_rule"},
                              plus "pii_by_kind" / "duplicate_clusters" when those steps ran
    report.md                 counts per rule with two dropped examples each, PII, clusters
    lmforge.json              the manifest (kind "curated"), written last

Dedup runs after boilerplate removal, so pages that differ only in their navigation or cookie
banner count as duplicates. Kept documents stream straight into their file; dropped and
quarantined records are spilled to scratch files first, so memory stays flat on large inputs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lmforge.data.document import Document
from lmforge.data.filters import BoilerplateLineRemover, ExactDedup, JunkFilter
from lmforge.data.readers import Quarantined, read_jsonl_docs
from lmforge.data.report import Tally, write_report
from lmforge.data.step import Step, run_steps
from lmforge.errors import LmforgeError
from lmforge.jsonl import write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest


def basic_steps() -> list[Step]:
    """The steps of `curate_basic`, in order (also `recipes/data/basic.yaml`)."""
    return [BoilerplateLineRemover(), JunkFilter(), ExactDedup()]


def curate_basic(inputs: list[Path], out: Path, overwrite: bool = False) -> dict[str, Any]:
    """Curate the JSONL `inputs` (files or directories of `*.jsonl`) into `out`; return stats."""
    return curate(inputs, out, basic_steps(), overwrite=overwrite)


def curate(
    inputs: list[Path],
    out: Path,
    steps: list[Step],
    overwrite: bool = False,
    recipe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run `steps` over the JSONL `inputs` into `out` (layout above); return the stats.

    `recipe` (name, path) is recorded in the manifest when the steps came from one.
    """
    inputs, out = [Path(p) for p in inputs], Path(out)
    if not inputs:
        raise LmforgeError("No inputs were given.", "Pass at least one JSONL file or directory.")
    _check_out_apart(inputs, out)
    items = read_jsonl_docs(inputs)  # checks the inputs before `out` is touched
    out = prepare_out_dir(out, overwrite=overwrite)
    counts: Counter[str] = Counter()
    tally = Tally()
    with _Spill(out / ".dropped.spill") as dropped, _Spill(out / ".quarantine.spill") as bad:
        docs = _route_quarantine(_with_progress(items, counts), bad)
        kept = _route(run_steps(docs, steps), dropped, tally)
        counts["kept"] = write_jsonl(out / "kept" / "docs.jsonl", kept)
        counts["dropped"] = dropped.finish(out / "dropped" / "docs.jsonl")
        counts["quarantined"] = bad.finish(out / "quarantine" / "records.jsonl")
    stats = {
        "read": counts["read"],
        "kept": counts["kept"],
        "dropped": counts["dropped"],
        "quarantined": counts["quarantined"],
        "dropped_by_rule": dict(sorted(tally.by_rule.items())),
        **tally.extra_stats(steps),
    }
    if stats["read"] != stats["kept"] + stats["dropped"] + stats["quarantined"]:
        raise AssertionError(f"curation lost documents: {stats}")  # a bug, never user error
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    write_report(out / "report.md", stats, tally.samples, recipe)
    config = {"inputs": [str(p) for p in inputs], "steps": [step_config(s) for s in steps]}
    if recipe is not None:
        config["recipe"] = recipe
    write_manifest(out, "curated", config, inputs=_manifest_inputs(inputs), metrics=stats)
    return stats


def _check_out_apart(inputs: list[Path], out: Path) -> None:
    # prepare_out_dir may delete `out`; it must never hold (or be) the raw data.
    resolved_out = out.resolve()
    for path in inputs:
        resolved = path.resolve()
        if resolved == resolved_out or resolved_out in resolved.parents:
            raise LmforgeError(
                f"The output {out} would contain the input {path}.", "Choose another --out."
            )


def _manifest_inputs(inputs: list[Path]) -> dict[str, str | Path]:
    # "raw" is the lineage root; further inputs get numbered roles so lineage sees them too.
    return {("raw" if i == 0 else f"raw_{i + 1}"): p for i, p in enumerate(inputs)}


def step_config(step: Step) -> dict[str, Any]:
    """A step's name and parameters, as the manifest records them."""
    if not is_dataclass(step):
        return {"name": step.name}
    return {f.name: getattr(step, f.name) for f in fields(step) if f.init}


def _with_progress(
    items: Iterable[Document | Quarantined], counts: Counter[str]
) -> Iterator[Document | Quarantined]:
    """Count what is read, behind a transient progress bar on stderr."""
    columns = (SpinnerColumn(), TextColumn("curating: {task.completed} documents read"))
    console = Console(stderr=True)
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("read", total=None)
        for item in items:
            counts["read"] += 1
            progress.advance(task)
            yield item


def _route_quarantine(items: Iterable[Document | Quarantined], bad: _Spill) -> Iterator[Document]:
    for item in items:
        if isinstance(item, Quarantined):
            bad.add(item.to_record())
        else:
            yield item


def _route(docs: Iterable[Document], dropped: _Spill, tally: Tally) -> Iterator[dict[str, Any]]:
    for doc in docs:
        tally.add(doc)
        if doc.drop is None:
            yield doc.to_record()
        else:
            dropped.add(doc.to_record())


class _Spill:
    """A scratch JSONL file that is copied into place with the atomic `write_jsonl` at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None

    def __enter__(self) -> _Spill:
        self.file = self.path.open("w+", encoding="utf-8", newline="\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()
        self.path.unlink(missing_ok=True)

    def add(self, record: dict[str, Any]) -> None:
        assert self.file is not None
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def finish(self, final: Path) -> int:
        """Write the spilled records to `final` (even if none, so the file always exists)."""
        assert self.file is not None
        self.file.flush()
        self.file.seek(0)
        return write_jsonl(final, (json.loads(line) for line in self.file))
