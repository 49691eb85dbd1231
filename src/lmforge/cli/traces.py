"""`lmforge traces list|export`: the requests `lmforge serve` recorded (see docs/serving.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lmforge.serve.tracestore import DEFAULT_DB

app = typer.Typer(help="Request traces recorded by `lmforge serve` (SQLite).")

Db = Annotated[Path, typer.Option("--db", help="Trace database (lmforge serve --trace-db).")]


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write.")],
    db: Db = Path(DEFAULT_DB),
) -> None:
    """Write every trace, oldest first, as one JSON object per line."""
    from lmforge.serve.tracestore import export_traces

    n = export_traces(db, out)
    Console().print(f"[green]{n} traces written to[/] {out}")


@app.command("list")
def list_traces(
    db: Db = Path(DEFAULT_DB),
    limit: Annotated[int, typer.Option(help="How many of the newest.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print full records as JSONL.")] = False,
) -> None:
    """The newest traces: time, route, status, tokens, latency."""
    from lmforge.serve.tracestore import read_traces

    records, total = read_traces(db, limit=limit)
    if as_json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return
    table = Table("id", "path", "status", "model", "prompt tok", "output tok", "ms",
                  title=f"{len(records)} of {total} traces")  # fmt: skip
    for r in records:
        usage = r["usage"]
        table.add_row(r["id"], r["path"], str(r["status"]), escape(str(r["model"])),
                      str(usage["prompt_tokens"]), str(usage["completion_tokens"]),
                      f"{r['latency_ms']:.0f}")  # fmt: skip
    Console().print(table)
