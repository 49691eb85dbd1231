"""Tools: a typed Python function becomes a tool with a JSON schema; every call is validated.

    def population(city: str, year: int = 2024) -> str:
        '''Population of a city.

        Args:
            city: the city's name.
            year: which census.
        '''
    registry = ToolRegistry([Tool.from_function(population)])
    registry.specs()                      # OpenAI `tools` entries (name, description, parameters)
    registry.call(ToolCall("population", arguments={"city": "Kamori"}))  # -> Observation

The schema is that of a pydantic model built from the signature (type hints, defaults, the
docstring's `Args:` lines), and arguments are validated by that same model before the function
runs, so what the model is told and what is checked cannot drift apart. A call that cannot be
read, names a tool outside the registry, has invalid arguments or raises becomes an
`Observation` with `ok=False` and a message the model can act on: never a crash of the loop.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from lmforge.errors import LmforgeError

MAX_OBSERVATION_CHARS = 2000  # what the model reads back from one call


@dataclass
class ToolCall:
    """A request to run a tool: JSON `arguments`, or `args_text` still to be read."""

    name: str
    arguments: dict[str, Any] | None = None
    args_text: str | None = None
    id: str | None = None  # the backend's id for native calls
    error: str | None = None  # why the call itself could not be read

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Observation:
    """What a call gave back: the text the model sees, and whether the tool actually ran."""

    tool: str
    content: str
    ok: bool = True
    ran: bool = True  # False when the call was refused before the tool's function started
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Tool:
    name: str
    description: str
    func: Callable[..., Any]
    model: type[BaseModel]

    @classmethod
    def from_function(
        cls, func: Callable[..., Any], name: str | None = None, description: str | None = None
    ) -> Tool:
        """A tool from a function's type hints and docstring (summary + `Args:` lines)."""
        name = name or func.__name__
        summary, arg_docs = parse_docstring(inspect.getdoc(func) or "")
        hints = typing.get_type_hints(func)
        fields: dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise LmforgeError(f"tool {name}: *args/**kwargs cannot be described by a schema.")
            if param.name not in hints:
                raise LmforgeError(f"tool {name}: parameter {param.name!r} has no type hint.")
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (
                hints[param.name],
                Field(default, description=arg_docs.get(param.name)),
            )
        model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        text = description or summary
        if not text:
            raise LmforgeError(f"tool {name} has no description.", "Give the function a docstring.")
        return cls(name, text, func, model)

    @property
    def parameters(self) -> dict[str, Any]:
        """The arguments' JSON schema (without pydantic's titles, which only add noise)."""
        return _drop_titles(self.model.model_json_schema())

    def spec(self) -> dict[str, Any]:
        """The OpenAI `tools` entry."""
        function = {"name": self.name, "description": self.description}
        return {"type": "function", "function": {**function, "parameters": self.parameters}}

    def signature(self) -> str:
        """One line for text prompts: `name(arg: type, arg: type = default): description`."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        args = []
        for arg, schema in props.items():
            kind = schema.get("type") or "/".join(
                s.get("type", "?") for s in schema.get("anyOf", [])
            )
            args.append(
                arg + f": {kind}" + ("" if arg in required else f" = {schema.get('default')!r}")
            )
        return f"{self.name}({', '.join(args)}): {self.description.splitlines()[0]}"

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments checked against the schema (ValueError saying which and why)."""
        if not isinstance(arguments, dict):
            raise ValueError(f"arguments must be a JSON object, not {type(arguments).__name__}")
        try:
            checked = self.model.model_validate(arguments)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}"
                for err in e.errors()
            )
            raise ValueError(problems) from None
        return {k: getattr(checked, k) for k in type(checked).model_fields}

    def read_arguments(self, text: str) -> dict[str, Any]:
        """Arguments written as text: JSON, `f(x, k=2)`-style literals, or one bare string."""
        text = _strip_fences(text.strip())
        if not text:
            return {}
        if text.startswith("{"):
            return _json_object(text)
        bound = self._bind_literals(text)
        if bound is not None:
            return bound
        params = list(self.model.model_fields.items())
        required = [n for n, f in params if f.is_required()]
        if len(required) == 1 and self.model.model_fields[required[0]].annotation is str:
            return {required[0]: text}  # `[calculator(1234+4321)]`: the text is the argument
        raise ValueError(
            f"could not read arguments {text[:200]!r}; write them as JSON, e.g. "
            f"{json.dumps({n: '...' for n, _ in params[:2]})}"
        )

    def _bind_literals(self, text: str) -> dict[str, Any] | None:
        try:
            call = ast.parse(f"_({text})", mode="eval").body
            positional = [ast.literal_eval(a) for a in call.args]
            keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        except (SyntaxError, ValueError, TypeError, AttributeError, MemoryError, RecursionError):
            return None  # not literals: e.g. an expression or code for a single text argument
        names = list(self.model.model_fields)
        if len(positional) > len(names) or None in keywords:
            return None
        return {**dict(zip(names, positional, strict=False)), **keywords}


class ToolRegistry:
    """The tools one run may use; anything else a model asks for is refused."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise LmforgeError(
                f"two tools are named {tool.name!r}.", "Give each tool its own name."
            )
        self._tools[tool.name] = tool

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def get(self, name: str) -> Tool:
        return self._tools[name]

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self._tools.values()]

    def describe(self) -> str:
        return "\n".join(f"- {t.signature()}" for t in self._tools.values())

    def call(self, call: ToolCall, max_chars: int = MAX_OBSERVATION_CHARS) -> Observation:
        """Run one call; every failure becomes an observation the model can read."""
        if call.error:
            return _refused(call.name, f"could not read the tool call: {call.error}")
        if call.name not in self._tools:
            allowed = ", ".join(self.names) or "none"
            return _refused(call.name, f"tool {call.name!r} is not available in this run "
                                       f"(allowed tools: {allowed}).")  # fmt: skip
        tool = self._tools[call.name]
        try:
            raw = (
                call.arguments
                if call.arguments is not None
                else tool.read_arguments(call.args_text or "")
            )
            arguments = tool.validate(raw)
        except ValueError as e:
            return _refused(call.name, f"invalid arguments for {call.name}: {e}")
        try:
            result = tool.func(**arguments)
        except LmforgeError as e:
            return Observation(call.name, f"Error: {e}", ok=False, arguments=arguments)
        except Exception as e:  # a tool's failure is the model's information, not our crash
            return Observation(call.name, f"Error: {type(e).__name__}: {e}", False, True, arguments)
        return Observation(call.name, _clip(_as_text(result), max_chars), arguments=arguments)


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (text before `Args:`) and each argument's description (Google style)."""
    parts = re.split(r"^\s*(?:Args|Arguments|Parameters):\s*$", doc, maxsplit=1, flags=re.M)
    described: dict[str, str] = {}
    current = None
    for line in (parts[1] if len(parts) > 1 else "").splitlines():
        match = re.match(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$", line)
        if match:
            current = match.group(1)
            described[current] = match.group(2).strip()
        elif current and line.strip():
            described[current] += " " + line.strip()
    return " ".join(parts[0].split()), described


def _refused(name: str, message: str) -> Observation:
    return Observation(name, f"Error: {message}", ok=False, ran=False)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        try:  # models often write Python dicts: single quotes, True/None
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            raise ValueError(f"arguments are not valid JSON ({e.msg} at char {e.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(f"arguments must be a JSON object, not {type(value).__name__}")
    return value


def _strip_fences(text: str) -> str:
    match = re.fullmatch(r"```[\w+-]*\n?(.*?)\n?```", text, flags=re.S)
    return match.group(1).strip() if match else text


def _drop_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _drop_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_drop_titles(v) for v in schema]
    return schema


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False)
    except TypeError:
        return str(result)


def _clip(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n[... {len(text) - max_chars} more characters cut]"
