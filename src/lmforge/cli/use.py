"""`lmforge generate` and `lmforge chat`: streaming text from a model directory."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lmforge.cli.options import ModelDir

MaxTokens = Annotated[int, typer.Option("--max-tokens", help="Most new tokens per reply.")]
Temperature = Annotated[float, typer.Option(help="0 = greedy; higher = more random.")]


def generate(
    model: ModelDir,
    prompt: Annotated[str, typer.Argument(help="Text to continue.")],
    max_tokens: MaxTokens = 128,
    temperature: Temperature = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
) -> None:
    """Continue a prompt (raw completion, no chat template), streaming the text."""
    from lmforge.infer.generate import stream_text
    from lmforge.models.io import load_model

    lm, tokenizer = load_model(model)
    for piece in stream_text(lm, tokenizer, prompt, max_tokens, temperature, seed=seed):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def chat(
    model: ModelDir,
    message: Annotated[
        list[str] | None, typer.Option("--message", help="Send this and exit (repeatable).")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: MaxTokens = 256,
    temperature: Temperature = 0.0,
) -> None:
    """Chat with a model using its own chat template (/reset clears, /exit quits)."""
    from lmforge.infer.generate import chat_session
    from lmforge.models.io import load_model

    lm, tokenizer = load_model(model)
    interactive = not message
    if interactive:
        print("Chatting with", model, "— /reset clears the history, /exit quits.")
    inputs = message if message else _prompted_lines()

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    chat_session(
        lm, tokenizer, inputs, write, system=system, max_new_tokens=max_tokens,
        temperature=temperature,
    )  # fmt: skip


def _prompted_lines():
    while True:
        try:
            yield input("you> ")
        except EOFError:
            return
