"""`lmforge agent run`: a tool-using agent on one goal, its trace printed as it happens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforge.cli.options import Overwrite

app = typer.Typer(help="Tool-using agents: ReAct, Reflexion, planning, with a jailed sandbox.")

Model = Annotated[
    str, typer.Option("--model", "-m", help="Model directory, openai/<model> or scripted.")
]
Tools = Annotated[
    str,
    typer.Option("--tools", "-t", help="Comma list: calculator, python, rag:INDEX_DIR, files:DIR."),
]


def run(
    goal: Annotated[str, typer.Argument(help="What the agent should do.")],
    model: Model,
    tools: Tools = "calculator",
    strategy: Annotated[str, typer.Option(help="react | reflexion | plan | critic.")] = "react",
    max_steps: Annotated[int, typer.Option(help="Most model calls in the run.")] = 8,
    max_tokens: Annotated[int, typer.Option(help="Most generated tokens in the run.")] = 2048,
    step_tokens: Annotated[int, typer.Option(help="Most tokens one model call generates.")] = 256,
    protocol: Annotated[
        str, typer.Option(help="auto | native (tools API) | react (text) | inline (Toolformer).")
    ] = "auto",
    mode: Annotated[str, typer.Option(help="Text protocols: auto | chat | completion.")] = "auto",
    weak_sandbox: Annotated[
        bool,
        typer.Option(
            "--weak-sandbox",
            help="Run python without network isolation or write protection (limits only).",
        ),
    ] = False,
    expect: Annotated[
        str | None, typer.Option(help="Reflexion: a trial passes when its answer contains this.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Reflexion: most trials.")] = 3,
    max_tasks: Annotated[int, typer.Option(help="Plan: most tasks in the plan.")] = 4,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write trace.jsonl and result.json here.")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Run an agent on GOAL and print every thought, action and observation."""
    from lmforge.agents.run import AgentSettings, TracePrinter, run_agent

    settings = AgentSettings(
        strategy=strategy, max_steps=max_steps, max_tokens=max_tokens, step_tokens=step_tokens,
        protocol=protocol, mode=mode, weak_sandbox=weak_sandbox, expect=expect, trials=trials,
        max_tasks=max_tasks,
    )  # fmt: skip
    result = run_agent(model, tools, goal, settings, out, overwrite, TracePrinter())
    if out is not None:
        typer.echo(f"Wrote {out}/trace.jsonl and result.json")
    if result.answer is None:
        typer.echo(f"No answer: the run stopped at {result.stop_reason}.")


app.command("run")(run)
