"""What the `lmforge rag` commands do, as typed functions (the CLI only maps options to them).

`index_documents` adds a folder to an index and writes the manifest (kind "rag-index", the
docs folder as input, the run's counts as metrics); `format_passages` and `format_answer`
render results as the terminal shows them.
"""

from __future__ import annotations

from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.rag.answer import Answer, source_label
from lmforge.rag.index import Index
from lmforge.rag.ingest import IndexReport
from lmforge.retrieval import Passage
from lmforge.runs import write_manifest


def index_documents(
    docs: Path, index_dir: Path, *, embedder: str | None = None,
    tokenizer: Path | None = None, chunk_tokens: int | None = None, overlap: int | None = None,
    max_file_mb: float = 50.0, prune: bool = False, progress: bool = True,
) -> tuple[Index, IndexReport]:  # fmt: skip
    """`lmforge rag index`: add new and changed documents under `docs` to the index."""
    if not docs.exists():
        raise LmforgeError(f"{docs} does not exist.", "Check the --docs path.")
    if max_file_mb <= 0:
        raise LmforgeError(f"--max-file-mb {max_file_mb} must be positive.")
    index = Index(index_dir, embedder, chunk_tokens=chunk_tokens, overlap=overlap,
                  tokenizer=tokenizer)  # fmt: skip
    report = index.add(docs, progress=progress, max_file_mb=max_file_mb, prune=prune)
    metrics = report.counts() | {"documents": len(index.store.known()), "chunks": len(index)}
    config = {k: index.config[k] for k in ("embedder", "chunk_tokens", "overlap", "tokens")}
    write_manifest(index_dir, "rag-index", config | {"prune": prune}, {"docs": docs}, metrics)
    return index, report


def format_skipped(report: IndexReport, limit: int = 20) -> list[str]:
    lines = [f"skipped {s.path}: {s.reason}" for s in report.skipped[:limit]]
    if len(report.skipped) > limit:
        lines.append(f"... and {len(report.skipped) - limit} more skipped")
    return lines


def format_passages(passages: list[Passage]) -> str:
    if not passages:
        return "No passages found."
    blocks = []
    for i, p in enumerate(passages, start=1):
        scores = ", ".join(f"{k.removesuffix('_score')} {v:.3f}"
                           for k, v in p.metadata.items() if k.endswith("_score"))  # fmt: skip
        blocks.append(f"[{i}] {source_label(p)}  ({scores})\n    id: {p.id}\n{_indent(p.text)}")
    return "\n\n".join(blocks)


def format_answer(result: Answer) -> str:
    lines = [result.text, ""]
    if result.refused:
        return result.text
    lines.append("Sources:")
    for i, p in enumerate(result.passages, start=1):
        mark = "*" if i in result.citations else " "
        lines.append(f"{mark}[{i}] {source_label(p)}")
    if not result.citations:
        lines.append("(the answer cites none of the sources)")
    if result.invalid_citations:
        bad = ", ".join(f"[{n}]" for n in result.invalid_citations)
        lines.append(f"(the answer cites {bad}, which name no source)")
    return "\n".join(lines)


def _indent(text: str, width: int = 600) -> str:
    short = text if len(text) <= width else text[:width] + " ..."
    return "\n".join("    " + line for line in short.splitlines())
