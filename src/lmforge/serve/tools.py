"""Tool calling for models without native function calling: a documented JSON text protocol.

The offered tools go into the system message (`tools_section`): one JSON line per tool
(name, description, parameters schema) and the rule "to call a tool, reply with only
`{"name": "<tool>", "arguments": {...}}`; otherwise reply in plain text" — the same text
whatever `tool_choice` is (except none), which is enforced on the reply instead:

- `auto` (the default with tools): the model chooses; a reply that is such a JSON object
  (or several, or a list) naming offered tools becomes `tool_calls`, anything else is text;
- `none`: the tools are not shown and nothing is parsed;
- a named function: the reply is forced to start with `{"name": "<fn>", "arguments":`;
- `required`: the function is the offered one whose `{"name": "<fn>"` the model finds most
  likely after the prompt (summed log-probability), then it is forced as above.

`check_tools` validates the definitions (names, JSON-Schema shape) and `tool_choice`, as
400s naming the field. Rendering earlier turns (assistant `tool_calls`, `tool` results) is
`serve.messages`'s job; parsing the replies is `serve.toolcalls`'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lmforge.serve.errors import APIError
from lmforge.serve.schemas import ToolDef

MODES = ("none", "auto", "required")
JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


@dataclass
class ToolPlan:
    """What to do with tools for one request."""

    mode: str = "none"  # none | auto | required | named
    functions: list[dict[str, Any]] = field(default_factory=list)
    forced: str | None = None  # the function of a named tool_choice
    parallel: bool = True

    @property
    def names(self) -> list[str]:
        return [f["name"] for f in self.functions]


def plan_tools(
    tools: list[ToolDef] | None, choice: str | dict | None, parallel: bool | None = None
) -> ToolPlan:
    """The validated plan for `tools` and `tool_choice` (400 naming the field otherwise)."""
    if tools is not None and not tools:
        raise APIError(400, "`tools` is empty: give at least one tool, or leave it out.", "tools")
    if not tools:
        if choice not in (None, "none"):
            raise APIError(400, "`tool_choice` needs `tools`.", "tool_choice")
        return ToolPlan()
    functions = [_function(i, tool) for i, tool in enumerate(tools)]
    names = [f["name"] for f in functions]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise APIError(400, f"Two tools are named `{name}`.", f"tools.{i}.function.name")
    plan = ToolPlan("auto", functions, parallel=parallel is not False)
    if choice is None or choice == "auto":
        return plan
    if isinstance(choice, str):
        if choice not in MODES:
            raise APIError(400, f"`tool_choice` {choice!r} is not one of none, auto, required "
                           "or {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                           "tool_choice")  # fmt: skip
        plan.mode = choice
        return plan
    name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
    if not isinstance(name, str):
        raise APIError(400, '`tool_choice` must be {"type": "function", "function": {"name": '
                       '...}} to name a function.', "tool_choice")  # fmt: skip
    if name not in names:
        raise APIError(400, f"`tool_choice` names `{name}`, which is not among the tools "
                       f"({', '.join(names)}).", "tool_choice.function.name")  # fmt: skip
    plan.mode, plan.forced = "named", name
    return plan


def _function(index: int, tool: ToolDef) -> dict[str, Any]:
    where = f"tools.{index}.function.parameters"
    parameters = tool.function.parameters
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    check_schema(parameters, where)
    if parameters.get("type", "object") != "object":
        raise APIError(400, f"{where}: a function's parameters must be a JSON Schema of "
                       "`type: object`.", where)  # fmt: skip
    function = {"name": tool.function.name}
    if tool.function.description:
        function["description"] = tool.function.description
    return {**function, "parameters": parameters}


def check_schema(schema: Any, where: str) -> None:
    """A structural check of a JSON Schema (types, properties, required, items, combinators)."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise APIError(400, f"{where}: a JSON Schema must be an object.", where)
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [] if kinds is None else [kinds]:
        if kind not in JSON_TYPES:
            raise APIError(400, f"{where}.type: {kind!r} is not a JSON Schema type "
                           f"({', '.join(sorted(JSON_TYPES))}).", f"{where}.type")  # fmt: skip
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise APIError(400, f"{where}.properties must be an object.", f"{where}.properties")
        for key, sub in properties.items():
            check_schema(sub, f"{where}.properties.{key}")
    required = schema.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise APIError(400, f"{where}.required must be a list of property names.",
                           f"{where}.required")  # fmt: skip
        missing = [r for r in required if isinstance(properties, dict) and r not in properties]
        if missing:
            raise APIError(400, f"{where}.required names `{missing[0]}`, which is not in "
                           "`properties`.", f"{where}.required")  # fmt: skip
    if "items" in schema:
        check_schema(schema["items"], f"{where}.items")
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            if not isinstance(schema[key], list) or not schema[key]:
                raise APIError(400, f"{where}.{key} must be a non-empty list.", f"{where}.{key}")
            for i, sub in enumerate(schema[key]):
                check_schema(sub, f"{where}.{key}.{i}")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        raise APIError(400, f"{where}.enum must be a non-empty list.", f"{where}.enum")


def call_json(name: str, arguments: Any) -> str:
    """How a call is written in the protocol (and in the history): one JSON object."""
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)


def forced_prefix(name: str) -> str:
    """The start of a call to `name`; the model continues with the arguments."""
    return call_json(name, None).removesuffix(" null}")  # '{"name": "f", "arguments":'


def tools_section(plan: ToolPlan) -> str:
    """The system-message text that offers the tools and states the reply protocol."""
    if plan.mode == "none":
        return ""
    # the same text for auto, required and named: those two are enforced by the reply's
    # forced start, so the model is scored and continued under the prompt it knows
    lines = ["You can call these tools (JSON schemas):"]
    lines += [json.dumps(f, ensure_ascii=False) for f in plan.functions]
    shape = '{"name": "<tool name>", "arguments": {<arguments>}}'
    lines.append(f"To call a tool, reply with only {shape}. Otherwise reply in plain text.")
    return "\n".join(lines)
