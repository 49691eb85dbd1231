"""Tool-using agents: typed tools, a jailed Python sandbox, ReAct and the loops built on it.

    from lmforge.agents import Budget, ReActAgent, load_tools
    from lmforge.infer import load_backend
    agent = ReActAgent(load_backend("openai/gpt-4o-mini"), load_tools("calculator,python"),
                       Budget(max_steps=6))
    result = agent.run("What is 2 ** 100 - 1?")
    result.answer, result.stop_reason, result.events

`Reflexion`, `SelfDebug`, `Critic` and `Planner` wrap the same agent; `Sandbox` runs code
under kernel isolation; `Tool.from_function` turns any typed function into a tool. The CLI
is `lmforge agent run` (see docs/agents.md).
"""

from __future__ import annotations

from lmforge.agents.builtin_tools import load_tools, search_tool
from lmforge.agents.critic import Critic
from lmforge.agents.memory import ConversationMemory, ReflectionMemory
from lmforge.agents.planner import Planner
from lmforge.agents.react import ReActAgent
from lmforge.agents.reflexion import Reflexion, answered, expect_answer
from lmforge.agents.sandbox import Sandbox, SandboxLimits, SandboxResult
from lmforge.agents.self_debug import SelfDebug
from lmforge.agents.tools import Observation, Tool, ToolCall, ToolRegistry
from lmforge.agents.trace import AgentResult, Budget, Event, Meter, Trace

__all__ = [
    "AgentResult",
    "Budget",
    "ConversationMemory",
    "Critic",
    "Event",
    "Meter",
    "Observation",
    "Planner",
    "ReActAgent",
    "ReflectionMemory",
    "Reflexion",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SelfDebug",
    "Tool",
    "ToolCall",
    "ToolRegistry",
    "Trace",
    "answered",
    "expect_answer",
    "load_tools",
    "search_tool",
]
