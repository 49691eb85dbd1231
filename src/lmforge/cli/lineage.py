"""`lmforge lineage DIR`: the chain of artifacts back to the raw data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.tree import Tree


def lineage(
    path: Annotated[Path, typer.Argument(help="An artifact directory (or a file inside one).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the tree as JSON.")] = False,
) -> None:
    """Print what an artifact was made from, back to the raw data, with hashes and metrics."""
    from lmforge.runs import lineage as build

    tree = build(path)
    if as_json:
        print(json.dumps(tree, indent=2, ensure_ascii=False))
        return
    root = Tree(_label("", tree))
    _add(root, tree)
    Console().print(root)


def _add(branch: Tree, node: dict) -> None:
    for role, child in node["inputs"].items():
        _add(branch.add(_label(role, child)), child)


def _label(role: str, node: dict) -> str:
    role = f"[dim]{role}:[/] " if role else ""
    kind = node.get("kind") or "?"
    text = f"{role}[bold]{kind}[/] {node['path']}"
    if node.get("missing"):
        text += " [red](missing)[/]"
    elif node.get("changed"):
        text += " [yellow](changed since it was used)[/]"
    if node.get("created"):
        text += f" [dim]{node['created']}[/]"
    return text
