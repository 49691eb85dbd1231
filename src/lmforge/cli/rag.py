"""`lmforge rag index|search|ask|eval|delete`: retrieval-augmented generation (docs/rag.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lmforge.cli.options import Overwrite

app = typer.Typer(help="Retrieval-augmented generation: index documents, search, answer, evaluate.")

IndexDir = Annotated[Path, typer.Option("--index", "-i", help="Index directory.")]
Model = Annotated[
    str, typer.Option("--model", "-m", help="Model directory, openai/<model> or scripted.")
]
K = Annotated[int, typer.Option("--k", "-k", help="Passages to retrieve.")]
Mode = Annotated[str, typer.Option("--mode", help="dense | bm25 | hybrid (RRF of both).")]
Rerank = Annotated[
    Path | None, typer.Option("--rerank", help="Local cross-encoder directory to rerank with.")
]
Filter = Annotated[
    list[str] | None,
    typer.Option("--filter", help="column=value (doc_id, path, title, page); repeatable."),
]
Where = Annotated[str | None, typer.Option("--where", help="LanceDB SQL filter on the chunks.")]


def _filters(filters: list[str] | None, where: str | None):
    from lmforge.errors import LmforgeError

    if where and filters:
        raise LmforgeError("give either --filter or --where, not both.")
    if where:
        return where
    parsed: dict[str, object] = {}
    for item in filters or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise LmforgeError(f"--filter {item!r} is not column=value.", "E.g. --filter page=3.")
        parsed[key.strip()] = int(value) if key.strip() in ("page", "seq") else value
    return parsed or None


def index(
    docs: Annotated[Path, typer.Option("--docs", "-d", help="File or folder of documents.")],
    index_dir: IndexDir,
    embedder: Annotated[
        str | None, typer.Option(help="minilm (default) or a sentence-transformers directory.")
    ] = None,
    tokenizer: Annotated[
        Path | None, typer.Option(help="Count chunk tokens with this model's tokenizer.")
    ] = None,
    chunk_tokens: Annotated[int | None, typer.Option(help="Most tokens per chunk (256).")] = None,
    overlap: Annotated[
        int | None, typer.Option(help="Tokens repeated between chunks (32).")
    ] = None,
    max_file_mb: Annotated[float, typer.Option(help="Skip files larger than this.")] = 50.0,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete indexed documents no longer in --docs.")
    ] = False,
) -> None:
    """Index new and changed documents (.txt .md .html .pdf .jsonl); resumes if interrupted."""
    from lmforge.rag.commands import format_skipped, index_documents

    built, report = index_documents(
        docs, index_dir, embedder=embedder, tokenizer=tokenizer, chunk_tokens=chunk_tokens,
        overlap=overlap, max_file_mb=max_file_mb, prune=prune,
    )  # fmt: skip
    for line in format_skipped(report):
        typer.echo(line, err=True)
    typer.echo(f"{report.summary()}. {index_dir}: {len(built)} chunks.")


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    index_dir: IndexDir,
    k: K = 5,
    mode: Mode = "hybrid",
    rerank: Rerank = None,
    filter: Filter = None,
    where: Where = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per passage.")] = False,
) -> None:
    """Show the passages a query retrieves, with their scores."""
    from dataclasses import asdict

    from lmforge.rag.commands import format_passages
    from lmforge.rag.index import Index

    found = Index(index_dir, create=False).search(
        query, k, mode=mode, filters=_filters(filter, where), rerank=rerank
    )
    if as_json:
        for p in found:
            typer.echo(json.dumps(asdict(p), ensure_ascii=False))
    else:
        typer.echo(format_passages(found))


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    index_dir: IndexDir,
    model: Model,
    k: K = 5,
    mode: Mode = "hybrid",
    rerank: Rerank = None,
    filter: Filter = None,
    where: Where = None,
    show_prompt: Annotated[
        bool, typer.Option("--show-prompt", help="Print the prompt sent to the model.")
    ] = False,
    max_tokens: Annotated[int, typer.Option(help="Most tokens in the answer.")] = 256,
    chat: Annotated[str, typer.Option(help="auto | chat | completion.")] = "auto",
) -> None:
    """Answer from the retrieved chunks, citing them as [1], [2], ... (or say nothing fits)."""
    from lmforge.rag.commands import format_answer
    from lmforge.rag.index import Index

    result = Index(index_dir, create=False).ask(
        question, model, k=k, mode=mode, filters=_filters(filter, where), rerank=rerank,
        chat=chat, max_tokens=max_tokens,
    )  # fmt: skip
    if show_prompt:
        prompt = result.prompt
        shown = (
            json.dumps(prompt, indent=2, ensure_ascii=False) if isinstance(prompt, list) else prompt
        )
        typer.echo("--- prompt ---")
        typer.echo(shown if shown else "(none: nothing relevant was retrieved, no model was asked)")
        typer.echo("--- answer ---")
    typer.echo(format_answer(result))


def evaluate(
    index_dir: IndexDir,
    qa: Annotated[Path, typer.Option("--qa", help='JSONL of {"question", "doc_ids", "answer"?}.')],
    k: K = 10,
    mode: Annotated[
        list[str] | None, typer.Option("--mode", help="Modes to compare (default: all three).")
    ] = None,
    rerank: Rerank = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Also answer and score the answers.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write results.json and questions.jsonl.")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """recall@k, MRR and nDCG@10 per mode; with --model, answer match and faithfulness."""
    from lmforge.rag.evaluate import run_eval
    from lmforge.rag.search import MODES, check_mode

    modes = tuple(check_mode(m) for m in mode) if mode else MODES
    metrics = run_eval(
        index_dir, qa, modes, k, model=model, rerank=str(rerank) if rerank else None,
        limit=limit, out=out, overwrite=overwrite,
    )  # fmt: skip
    typer.echo(f"{metrics['n']} questions")
    for name, values in metrics["retrieval"].items():
        typer.echo(f"{name:>7}: " + ", ".join(f"{key} {v:.3f}" for key, v in values.items()))
    if "answers" in metrics:
        shown = {key: v for key, v in metrics["answers"].items() if isinstance(v, float)}
        typer.echo("answers: " + ", ".join(f"{key} {v:.3f}" for key, v in shown.items()))
    if out is not None:
        typer.echo(f"Wrote {out}/results.json and questions.jsonl")


def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids (paths under --docs).")],
    index_dir: IndexDir,
) -> None:
    """Remove documents and their chunks from an index."""
    from lmforge.rag.index import Index

    index = Index(index_dir, create=False)
    n = index.delete(doc_ids)
    typer.echo(f"Deleted {n} of {len(doc_ids)} document(s); {len(index)} chunks remain.")


app.command("index")(index)
app.command("search")(search)
app.command("ask")(ask)
app.command("eval")(evaluate)
app.command("delete")(delete)
