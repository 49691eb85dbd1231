"""Tool registry: schemas from type hints, validation before calls, and the built-in tools."""

from __future__ import annotations

import os
import re
from typing import Literal

import pytest

from lmforge.agents.builtin_tools import calculator_tool, file_tools, load_tools, search_tool
from lmforge.agents.sandbox import Sandbox, SandboxLimits, strict_problem
from lmforge.agents.tools import Tool, ToolCall, ToolRegistry
from lmforge.errors import LmforgeError
from lmforge.retrieval import Passage


class WordOverlapRetriever:
    """A small real retriever: passages ranked by how many query words they contain."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def search(self, query: str, k: int = 5) -> list[Passage]:
        words = set(query.lower().split())
        scored = [(len(words & set(t.lower().split())), i, t) for i, t in self.texts.items()]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
        return [Passage(i, t, float(s)) for s, i, t in ranked[:k]]


def population(city: str, year: int = 2024, unit: Literal["people", "thousands"] = "people") -> str:
    """Population of a city in a census year.

    Args:
        city: the city's name,
            as written on maps.
        year: which census.
        unit: how to count.
    """
    return f"{city} {year} {unit}"


def test_schema_comes_from_type_hints_and_docstring():
    tool = Tool.from_function(population)
    assert tool.description == "Population of a city in a census year."
    assert tool.parameters == {
        "additionalProperties": False,
        "type": "object",
        "required": ["city"],
        "properties": {
            "city": {"type": "string", "description": "the city's name, as written on maps."},
            "year": {"type": "integer", "default": 2024, "description": "which census."},
            "unit": {"type": "string", "enum": ["people", "thousands"], "default": "people",
                     "description": "how to count."},
        },
    }  # fmt: skip
    assert tool.spec()["type"] == "function" and tool.spec()["function"]["name"] == "population"
    assert tool.signature().startswith("population(city: string, year: integer = 2024")


def test_functions_that_cannot_be_described_are_refused():
    def untyped(x) -> str:
        """Doc."""

    def variadic(*xs: int) -> str:
        """Doc."""

    def undocumented(x: int) -> str:
        return ""

    for func, problem in [(untyped, "no type hint"), (variadic, r"\*args"),
                          (undocumented, "no description")]:  # fmt: skip
        with pytest.raises(LmforgeError, match=problem):
            Tool.from_function(func)


def test_arguments_are_validated_before_the_call():
    calls = []

    def record(city: str, year: int = 2024) -> str:
        """Record a call."""
        calls.append((city, year))
        return "done"

    registry = ToolRegistry([Tool.from_function(record)])
    bad = registry.call(ToolCall("record", {"city": "Kamori", "year": "soon", "extra": 1}))
    assert not bad.ok and not bad.ran and calls == []
    assert "year" in bad.content and "extra" in bad.content
    missing = registry.call(ToolCall("record", {}))
    assert "city" in missing.content and "required" in missing.content.lower()
    good = registry.call(ToolCall("record", {"city": "Kamori", "year": "1990"}))
    assert good.ok and good.content == "done" and calls == [("Kamori", 1990)]


def test_unknown_tools_and_raising_tools_become_observations():
    def boom(x: int) -> str:
        """Always fails."""
        raise RuntimeError(f"broken for {x}")

    registry = ToolRegistry([Tool.from_function(boom)])
    unknown = registry.call(ToolCall("python", {"code": "print(1)"}))
    assert not unknown.ran and "not available" in unknown.content and "boom" in unknown.content
    failed = registry.call(ToolCall("boom", {"x": 3}))
    assert failed.ran and not failed.ok and failed.content == "Error: RuntimeError: broken for 3"
    unreadable = registry.call(ToolCall("boom", error="not JSON"))
    assert not unreadable.ran and "not JSON" in unreadable.content
    with pytest.raises(LmforgeError, match="two tools"):
        registry.add(Tool.from_function(boom))


def test_long_results_are_clipped():
    def long(n: int) -> str:
        """Long text."""
        return "y" * n

    observation = ToolRegistry([Tool.from_function(long)]).call(ToolCall("long", {"n": 5000}))
    assert (
        observation.content.startswith("y" * 2000)
        and "3000 more characters cut" in observation.content
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"city": "Kamori", "year": 1990}', {"city": "Kamori", "year": 1990}),
        ("{'city': 'Kamori'}", {"city": "Kamori"}),
        ('"Kamori", 1990', {"city": "Kamori", "year": 1990}),
        ('city="Kamori", unit="thousands"', {"city": "Kamori", "unit": "thousands"}),
        ("Kamori town", {"city": "Kamori town"}),
        ('```json\n{"city": "Velden"}\n```', {"city": "Velden"}),
        ("", {}),
    ],
)
def test_arguments_written_as_text_are_read(text, expected):
    assert Tool.from_function(population).read_arguments(text) == expected


def test_unreadable_text_arguments_say_how_to_write_them():
    tool = Tool.from_function(population)
    with pytest.raises(ValueError, match="not valid JSON"):
        tool.read_arguments('{"city": "Kamori",')

    def two(a: int, b: int) -> str:
        """Two numbers."""

    with pytest.raises(ValueError, match="write them as JSON"):
        Tool.from_function(two).read_arguments("a plus b")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("1234+4321", "5555"),
        ("2**100 - 1", str(2**100 - 1)),
        ("123456789123456789 * 987654321987654321", str(123456789123456789 * 987654321987654321)),
        ("7/3", "7/3 ≈ 2.33333333333"),
        ("6/3", "2"),
        ("sqrt(144) + factorial(5)", "132"),
        ("1.5 * 4", "6.0"),
    ],
)
def test_calculator_is_exact(expression, expected):
    registry = ToolRegistry([calculator_tool()])
    assert registry.call(ToolCall("calculator", {"expression": expression})).content == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("__import__('os').system('id')", "not allowed"),
        ("__import__('os')", r"function __import__\(\) is not available"),
        ("open('x')", "not available"),
        ("2^10", r"Write powers as a \*\* b"),
        ("9**9**9", "too large"),
        ("1/0", "division by zero"),
        ("x + 1", "not allowed"),
        ("(1).__class__", "not allowed"),
    ],
)
def test_calculator_refuses_anything_but_arithmetic(expression, message):
    observation = ToolRegistry([calculator_tool()]).call(
        ToolCall("calculator", {"expression": expression})
    )
    assert not observation.ok
    assert re.search(message, observation.content), observation.content


def test_file_tools_stay_inside_their_directory(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.txt").write_text("beta")
    (root / "blob.bin").write_bytes(b"\0\1\2")
    (tmp_path / "secret.txt").write_text("do not read")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    registry = ToolRegistry(file_tools(root))
    read = lambda p: registry.call(ToolCall("read_file", {"path": p}))  # noqa: E731
    assert read("a.txt").content == "alpha" and read("sub/b.txt").content == "beta"
    for escape in (
        "../secret.txt",
        str(tmp_path / "secret.txt"),
        "link.txt",
        "sub/../../secret.txt",
    ):
        observation = read(escape)
        assert not observation.ok and "outside the allowed directory" in observation.content
    assert "binary" in read("blob.bin").content
    listing = registry.call(ToolCall("list_files", {})).content.split()
    assert listing == ["a.txt", "blob.bin", "link.txt", "sub/"]


def test_search_tool_takes_any_retriever():
    retriever = WordOverlapRetriever({
        "kamori": "Kamori is a town in the Velden region; its main export is copper.",
        "velden": "The Velden region lies north of the sea.",
        "other": "Nothing to see here.",
    })  # fmt: skip
    registry = ToolRegistry([search_tool(retriever)])
    found = registry.call(ToolCall("search", {"query": "Kamori export", "k": 1}))
    assert (
        found.content
        == "[kamori] Kamori is a town in the Velden region; its main export is copper."
    )
    both = registry.call(ToolCall("search", {"query": "Velden"})).content.splitlines()
    assert [line.split("]")[0] for line in both] == ["[kamori", "[velden"]
    assert registry.call(ToolCall("search", {"query": "zebra"})).content == "No passages found."


def test_load_tools_checks_specs_before_any_work(tmp_path):
    registry = load_tools(f"calculator, files:{tmp_path}")
    assert registry.names == ["calculator", "read_file", "list_files"]
    for spec, message in [
        ("calculator,browser", "unknown tool 'browser'"),
        (f"rag:{tmp_path / 'missing'}", "no index directory"),
        (f"files:{tmp_path / 'missing'}", "not a directory"),
        ("", "no tools"),
    ]:
        with pytest.raises(LmforgeError, match=message):
            load_tools(spec)


@pytest.mark.skipif(strict_problem() is not None, reason="no strict isolation on this host")
def test_python_tool_runs_in_the_sandbox_and_reports_limits():
    registry = load_tools("python", Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=3)))
    ok = registry.call(ToolCall("python", {"code": "```python\nprint(sum(range(101)))\n```"}))
    assert ok.content.splitlines()[0] == "5050" and "exit code 0" in ok.content
    looped = registry.call(ToolCall("python", {"code": "while True: pass"}))
    assert "stopped: cpu-time limit" in looped.content
    failed = registry.call(ToolCall("python", {"code": "assert 1 == 2, 'nope'"}))
    assert "AssertionError: nope" in failed.content and "exit code 1" in failed.content


@pytest.mark.slow  # builds a real index: loads the MiniLM embedder
def test_rag_tool_opens_a_real_index(tmp_path):
    from lmforge.rag import Index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kamori.txt").write_text("Kamori is a town in the Velden region. It exports copper.")
    (docs / "sea.txt").write_text("The grey sea lies north of Velden. Foxes live on its shore.")
    Index(tmp_path / "idx").add(docs)
    registry = load_tools(f"rag:{tmp_path / 'idx'}")
    found = registry.call(ToolCall("search", {"query": "What does Kamori export?", "k": 1}))
    assert found.content.startswith("[kamori.txt") and "copper" in found.content
    with pytest.raises(LmforgeError, match="not a RAG index"):
        load_tools(f"rag:{docs}")
