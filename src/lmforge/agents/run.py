"""`lmforge agent run`: one goal, one strategy, the trace printed live and saved.

    run_agent("openai/gpt-4o-mini", "calculator,python,rag:idx/", "What is 2**100 - 1?",
              AgentSettings(strategy="reflexion", max_steps=6), out=Path("runs/agent"))

Everything the user can get wrong (strategy, budget, tool specs, the sandbox's isolation,
--out) is checked before the model is loaded. With `out`, the run writes `trace.jsonl` (every
event, in order), `result.json` (answer, stop reason, steps, tokens, strategy details) and the
manifest. `TracePrinter` is the listener that prints each event with rich as it happens.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lmforge.agents.builtin_tools import load_tools
from lmforge.agents.critic import Critic
from lmforge.agents.planner import Planner
from lmforge.agents.react import MODES, PROTOCOLS, ReActAgent
from lmforge.agents.reflexion import Reflexion, answered, expect_answer
from lmforge.agents.sandbox import Sandbox
from lmforge.agents.trace import AgentResult, Budget, Event, Listener
from lmforge.errors import LmforgeError
from lmforge.jsonl import write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

STRATEGIES = ("react", "reflexion", "plan", "critic")
_STYLES = {
    "goal": "bold",
    "thought": "dim",
    "action": "cyan",
    "observation": "green",
    "answer": "bold green",
    "reflection": "magenta",
    "plan": "blue",
    "task": "bold blue",
    "trial": "bold magenta",
    "check": "red",
    "revision": "yellow",
    "code": "cyan",
    "test": "green",
    "stop": "yellow",
}


@dataclass(frozen=True)
class AgentSettings:
    strategy: str = "react"
    max_steps: int = 8
    max_tokens: int = 2048
    step_tokens: int = 256
    protocol: str = "auto"
    mode: str = "auto"
    weak_sandbox: bool = False
    expect: str | None = None  # reflexion: the answer must contain this
    trials: int = 3  # reflexion
    max_tasks: int = 4  # plan
    rounds: int = 2  # critic

    def check(self) -> Budget:
        for name, value, known in (
            ("strategy", self.strategy, STRATEGIES),
            ("protocol", self.protocol, PROTOCOLS),
            ("mode", self.mode, MODES),
        ):
            if value not in known:
                raise LmforgeError(f"unknown {name} {value!r}.", f"Use one of {', '.join(known)}.")
        if self.expect is not None and self.strategy != "reflexion":
            raise LmforgeError("--expect only applies to --strategy reflexion.")
        if min(self.trials, self.max_tasks, self.rounds) < 1:
            raise LmforgeError("trials, max-tasks and rounds must be at least 1.")
        return Budget(self.max_steps, self.max_tokens, self.step_tokens)


class TracePrinter:
    """Prints each event as it happens: `[step] Kind: text`, styled by kind."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()

    def __call__(self, event: Event) -> None:
        style = _STYLES.get(event.kind, "")
        if event.kind == "observation" and not event.data.get("ok", True):
            style = "red"
        label = event.kind.capitalize() if event.kind != "stop" else "Stopped"
        step = f"[dim]\\[{event.step}][/] " if event.step else ""
        text = escape(event.text)
        if event.kind == "stop" and "tokens" in event.data:
            text += f" (steps {event.data['steps']}, tokens {event.data['tokens']})"
        head = f"[{style}]{label}:[/]" if style else f"{label}:"
        self.console.print(f"{step}{head} {text}", soft_wrap=True, highlight=False)


def run_agent(
    model: str,
    tools: str,
    goal: str,
    settings: AgentSettings | None = None,
    out: Path | None = None,
    overwrite: bool = False,
    listener: Listener | None = None,
) -> AgentResult:
    """Run one goal with the chosen strategy; write the trace and result when `out` is set."""
    settings = settings or AgentSettings()
    budget = settings.check()
    if not goal.strip():
        raise LmforgeError("the goal is empty.", 'Say what the agent should do: "What is 2+2?".')
    registry = load_tools(tools, Sandbox(isolation="weak" if settings.weak_sandbox else "strict"))
    from lmforge.infer.backends import load_backend

    backend = load_backend(model)  # a bad spec fails here, before --out is touched
    if out is not None:
        out = prepare_out_dir(out, overwrite)
    agent = ReActAgent(backend, registry, budget, settings.protocol, settings.mode,
                       listener=listener)  # fmt: skip
    result = _run_strategy(agent, goal, settings)
    if out is not None:
        write_jsonl(out / "trace.jsonl", (e.to_json() for e in result.events))
        summary = {"goal": goal, "model": model, "tools": registry.names, **result.to_json()}
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=str)
        (out / "result.json").write_text(text + "\n", encoding="utf-8")
        config = {"model": model, "tools": tools, "goal": goal, **asdict(settings)}
        write_manifest(out, "agent-run", config, metrics={"steps": result.steps,
                       "tokens": result.tokens, "stop_reason": result.stop_reason})  # fmt: skip
    return result


def _run_strategy(agent: ReActAgent, goal: str, settings: AgentSettings) -> AgentResult:
    if settings.strategy == "reflexion":
        check = expect_answer(settings.expect) if settings.expect else answered
        return Reflexion(agent, check, settings.trials).run(goal)
    if settings.strategy == "plan":
        return Planner(agent, settings.max_tasks).run(goal)
    if settings.strategy == "critic":
        return Critic(agent, settings.rounds).run(goal)
    return agent.run(goal)
