"""The built-in tools, and `load_tools("calculator,python,rag:idx/,files:docs/")`.

- calculator: exact arithmetic by an AST walk (`agents.calculator`), never `eval`.
- python: code run in the jailed `Sandbox` (no network, private directory, limits).
- search (`rag:DIR`, a `lmforge.rag.Index`, or any `Retriever`): the best passages for a
  query, each with its id.
- read_file / list_files (`files:DIR`): read-only access to files inside one directory.

Each is a plain typed function turned into a `Tool`, so it gets the same schema and
validation as any user tool.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lmforge.agents.calculator import calculate, format_number
from lmforge.agents.sandbox import Sandbox
from lmforge.agents.tools import Tool, ToolRegistry
from lmforge.errors import LmforgeError
from lmforge.retrieval import Retriever

MAX_FILE_BYTES = 64 * 1024
BUILTINS = ("calculator", "python", "rag:DIR", "files:DIR")


def calculator_tool() -> Tool:
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression exactly, e.g. 1234 + 4321 or (7 / 3) ** 2.

        Args:
            expression: numbers with + - * / // % ** and parentheses; abs, min, max, round,
                sqrt, gcd, factorial; the constants pi and e.
        """
        return format_number(calculate(expression))

    return Tool.from_function(calculator)


def python_tool(sandbox: Sandbox) -> Tool:
    def python(code: str) -> str:
        """Run Python code in a sandbox and return what it prints (use print to show results).

        The sandbox has no network, no files outside its own empty working directory, and
        limits on time, memory, processes and output.

        Args:
            code: a complete Python program.
        """
        result = sandbox.run(_strip_fences(code))
        parts = [result.stdout.rstrip()] if result.stdout.strip() else []
        if not result.ok and result.stderr.strip():
            parts.append("stderr:\n" + result.stderr.strip()[-1500:])
        parts.append(f"[{result.summary()}]")
        return "\n".join(parts)

    return Tool.from_function(python)


def search_tool(retriever: Retriever, name: str = "search", k: int = 3) -> Tool:
    def search(query: str, k: int = k) -> str:
        """Search the documents; returns the best passages, each with its id.

        Args:
            query: what to look for, in a few words.
            k: how many passages to return.
        """
        passages = retriever.search(query, max(1, min(k, 10)))
        if not passages:
            return "No passages found."
        return "\n".join(f"[{p.id}] {' '.join(p.text.split())}" for p in passages)

    return Tool.from_function(search, name=name)


def file_tools(root: str | Path) -> list[Tool]:
    base = Path(root).resolve()
    if not base.is_dir():
        raise LmforgeError(
            f"files:{root}: {root} is not a directory.", "Give an existing directory."
        )

    def read_file(path: str) -> str:
        """Read a text file inside the allowed directory.

        Args:
            path: the file's path, relative to the allowed directory.
        """
        target = _inside(base, path)
        if not target.is_file():
            raise LmforgeError(f"{path} is not a file.", "Use list_files to see what there is.")
        data = target.open("rb").read(MAX_FILE_BYTES + 1)
        if b"\0" in data:
            raise LmforgeError(f"{path} is a binary file.")
        text = data[:MAX_FILE_BYTES].decode("utf-8", "replace")
        return text + ("\n[... file cut]" if len(data) > MAX_FILE_BYTES else "")

    def list_files(path: str = ".") -> str:
        """List the files and directories inside the allowed directory.

        Args:
            path: a directory, relative to the allowed directory.
        """
        target = _inside(base, path)
        if not target.is_dir():
            raise LmforgeError(f"{path} is not a directory.")
        entries = sorted(target.iterdir())[:200]
        return "\n".join(
            e.relative_to(base).as_posix() + ("/" if e.is_dir() else "") for e in entries
        )

    return [Tool.from_function(read_file), Tool.from_function(list_files)]


def _inside(base: Path, path: str) -> Path:
    """`path` resolved (symlinks too) and refused unless it stays inside `base`."""
    target = (base / path).resolve()
    if target != base and not target.is_relative_to(base):
        raise LmforgeError(f"{path} is outside the allowed directory.", "Use a relative path.")
    return target


def load_tools(specs: str | Sequence[str], sandbox: Sandbox | None = None) -> ToolRegistry:
    """A registry from tool specs (comma-separated or a list), checked before any work."""
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    registry = ToolRegistry()
    for item in (i.strip() for i in items):
        name, _, arg = item.partition(":")
        if name == "calculator" and not arg:
            registry.add(calculator_tool())
        elif name == "python" and not arg:
            sandbox = sandbox or Sandbox()
            sandbox.check()  # refuse now, before the model runs, if the host cannot isolate
            registry.add(python_tool(sandbox))
        elif name == "rag" and arg:
            registry.add(search_tool(_open_index(arg), name=_free_name(registry, "search")))
        elif name == "files" and arg:
            for tool in file_tools(arg):
                registry.add(tool)
        elif item:
            raise LmforgeError(f"unknown tool {item!r}.", f"Known tools: {', '.join(BUILTINS)}.")
    if not len(registry):
        raise LmforgeError("no tools given.", f"Name some of: {', '.join(BUILTINS)}.")
    return registry


def _open_index(directory: str) -> Retriever:
    """The index at `directory`, opened now so a wrong path fails before the model loads
    (opening reads its settings only; the embedder loads at the first search)."""
    path = Path(directory)
    if not path.is_dir():
        raise LmforgeError(
            f"rag:{directory}: no index directory there.", "Build one with lmforge rag."
        )
    from lmforge.rag import Index  # LanceDB and friends: imported only when a rag tool is used

    return Index(path, create=False)


def _free_name(registry: ToolRegistry, name: str) -> str:
    n = 2
    candidate = name
    while candidate in registry:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _strip_fences(code: str) -> str:
    match = re.search(r"```(?:python|py)?\s*\n(.*?)```", code, flags=re.S)
    return match.group(1) if match else code
