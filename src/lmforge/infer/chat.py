"""`lmforge chat` from a model directory: one message, given lines, or a REPL at the terminal.

The conversation itself is `lmforge.infer.generate.chat_session`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lmforge.infer.generate import Writer, chat_session, stdout_writer
from lmforge.models.io import load_model


def terminal_inputs(prompt: str = "> ") -> Iterator[str]:
    """Lines typed at the terminal until end of input (Ctrl-D) or Ctrl-C."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            return


def chat(
    model_dir: Path,
    message: str | list[str] | None = None,
    system: str | None = None,
    write: Writer = stdout_writer,
    inputs: Iterable[str] | None = None,
    **generation,
) -> list[dict]:
    """`lmforge chat`: the `message`(s), the given `inputs`, or a REPL at the terminal."""
    model, tokenizer = load_model(model_dir)
    if message is not None:
        inputs = [message] if isinstance(message, str) else list(message)
    elif inputs is None:
        write(f"Chatting with {model_dir}. /reset starts over, /exit quits.\n")
        inputs = terminal_inputs()
    return chat_session(model, tokenizer, inputs, write, system, **generation)
