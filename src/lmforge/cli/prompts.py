"""`lmforge prompts add|list|show|render`: the prompt registry (named, versioned templates)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lmforge.prompting.registry import DEFAULT_DB, ENV_DB

app = typer.Typer(help="The prompt registry: named, versioned prompt templates in SQLite.")

Db = Annotated[
    Path | None,
    typer.Option("--db", envvar=ENV_DB, help=f"Registry file (default ./{DEFAULT_DB})."),
]
Ref = Annotated[str, typer.Argument(help="NAME or NAME@VERSION (default: the latest).")]


def _registry(db: Path | None):
    from lmforge.prompting.registry import PromptRegistry

    return PromptRegistry(db)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The prompt's name.")],
    file: Annotated[Path, typer.Option("--file", "-f", help="Template text file (Jinja2).")],
    description: Annotated[str | None, typer.Option(help="A note on this version.")] = None,
    db: Db = None,
) -> None:
    """Store FILE as the next version of NAME (nothing new if an identical version exists)."""
    registry = _registry(db)
    before = {v.version for v in registry.versions(name)}
    stored = registry.add_file(name, file, description)
    verb = "already stored as" if stored.version in before else "added"
    where = f"({stored.sha256[:12]}) in {registry.path}"
    Console().print(f"{verb} [bold]{escape(stored.ref)}[/] {where}")


@app.command("list")
def list_prompts(db: Db = None) -> None:
    """Every prompt with its latest version and variables."""
    registry = _registry(db)
    table = Table("name", "latest", "variables", "created", "sha256")
    for prompt in registry.list_prompts():
        table.add_row(escape(prompt.name), str(prompt.version), ", ".join(prompt.variables),
                      prompt.created, prompt.sha256[:12])  # fmt: skip
    Console().print(table)


@app.command("show")
def show(ref: Ref, db: Db = None) -> None:
    """Print one version's template (headers on stderr, the text on stdout)."""
    prompt = _registry(db).get(ref)
    Console(stderr=True).print(
        f"[bold]{escape(prompt.ref)}[/] created {prompt.created}, sha256 {prompt.sha256[:12]}, "
        f"variables: {', '.join(prompt.variables) or 'none'}"
    )
    print(prompt.content, end="" if prompt.content.endswith("\n") else "\n")


@app.command("render")
def render(
    ref: Ref,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="A variable: --var product=Kamori.")
    ] = None,
    db: Db = None,
) -> None:
    """Print the template rendered with the given variables."""
    from lmforge.prompting.registry import parse_variables

    print(_registry(db).get(ref).render(parse_variables(var or [])))
