"""The `lmforge` command line: one subcommand per lifecycle stage.

Each subcommand module only maps options to a typed function of a stage module; no logic
lives here. Errors the user can fix print as one sentence plus the fix; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import os
import sys

import click
import typer
from rich.console import Console
from rich.markup import escape

from lmforge.cli import (
    agent,
    data,
    evaluate,
    lab,
    lineage,
    prompt,
    prompts,
    quickstart,
    rag,
    serve,
    stages,
    tokenizer,
    traces,
    use,
)
from lmforge.errors import LmforgeError

app = typer.Typer(
    name="lmforge",
    help="The whole life of a language model: curate, pretrain, fine-tune, use, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """lmforge: curate → tokenize → pretrain → fine-tune → use → evaluate."""


app.add_typer(lab.app, name="lab")
app.add_typer(data.app, name="data")
app.add_typer(tokenizer.app, name="tokenizer")
app.add_typer(stages.model_app, name="model")
app.add_typer(stages.inspect_app, name="inspect")
app.command("pretrain")(stages.pretrain)
app.command("sft")(stages.sft)
app.command("merge")(stages.merge)
for _name in ("reward", "align", "plan"):  # alignment and memory planning
    app.command(_name)(getattr(stages, _name))
app.command("generate")(use.generate)
app.command("chat")(use.chat)
app.add_typer(evaluate.app, name="eval")
app.command("lineage")(lineage.lineage)
app.command("quickstart")(quickstart.quickstart)
app.command("serve")(serve.serve)
app.add_typer(prompt.app, name="prompt")
app.add_typer(agent.app, name="agent")
app.add_typer(rag.app, name="rag")
app.add_typer(prompts.app, name="prompts")
app.add_typer(traces.app, name="traces")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    err = Console(stderr=True)
    _quiet_libraries()
    try:
        # without standalone mode, Typer returns an exit code (130 for Ctrl-C) instead of exiting
        code = app(args=argv, prog_name="lmforge", standalone_mode=False)
        if code == 130:
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except (click.exceptions.Exit, typer.Exit) as e:
        sys.exit(getattr(e, "exit_code", 0))
    except (click.ClickException, typer.TyperException) as e:
        # typer ≥ 0.29 raises usage errors from its own copy of click: the same show/exit_code
        if not hasattr(e, "show"):
            raise
        e.show()
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        err.print("[yellow]Interrupted.[/] Run the same command again to resume where it stopped.")
        sys.exit(130)
    except LmforgeError as e:
        if debug:
            raise
        message = f"[bold red]Error:[/] {escape(e.what)}"
        message += f"\n[bold]Fix:[/] {escape(e.fix)}" if e.fix else ""
        err.print(message, soft_wrap=True, markup=True, highlight=False)
        sys.exit(1)
    except Exception as e:
        if debug:
            raise
        err.print(f"[bold red]Unexpected error:[/] {type(e).__name__}: {escape(str(e))}")
        err.print("Run the command again with --debug for the full traceback.")
        sys.exit(1)


def _quiet_libraries() -> None:
    # lmforge draws its own progress bars; the libraries' own would interleave with them
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging

    logging.disable_progress_bar()
