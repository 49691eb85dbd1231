"""`lmforge chat`: a conversation that keeps its history, at the terminal or from a script.

The history is a list of messages rendered with the model's chat template on every turn; the
reply streams to a writer callable as it is generated. `/reset` starts over, `/exit` quits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.infer.generate import Writer, stdout_writer, stream_text
from lmforge.models.io import load_model


def chat_session(
    model,
    tokenizer,
    inputs: Iterable[str],
    write: Writer,
    system: str | None = None,
    **generation,
) -> list[dict]:
    """Answer each input line in one conversation; return the final history.

    `/reset` starts the conversation over (keeping the system message), `/exit` ends it.
    `generation` takes `stream_text`'s options (max_new_tokens, temperature, top_p, seed).
    """
    start = [{"role": "system", "content": system}] if system else []
    messages = list(start)
    for line in inputs:
        text = line.strip()
        if text == "/exit":
            break
        if text == "/reset":
            messages = list(start)
            write("(conversation reset)\n")
            continue
        if not text:
            continue
        messages.append({"role": "user", "content": text})
        reply = _reply(model, tokenizer, messages, write, generation)
        if reply is None:
            messages.pop()
        else:
            messages.append({"role": "assistant", "content": reply})
    return messages


def _reply(model, tokenizer, messages, write: Writer, generation: dict) -> str | None:
    pieces = []
    try:
        for piece in stream_text(model, tokenizer, messages, **generation):
            pieces.append(piece)
            write(piece)
    except LmforgeError as e:
        write(f"error: {e}\n")
        return None
    write("\n")
    return "".join(pieces).strip()


def terminal_inputs(prompt: str = "> ") -> Iterator[str]:
    """Lines typed at the terminal until end of input (Ctrl-D) or Ctrl-C."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            return


def chat(
    model_dir: Path,
    message: str | None = None,
    system: str | None = None,
    write: Writer = stdout_writer,
    inputs: Iterable[str] | None = None,
    **generation,
) -> list[dict]:
    """`lmforge chat`: one `message`, the given `inputs`, or a REPL at the terminal."""
    model, tokenizer = load_model(model_dir)
    if message is not None:
        inputs = [message]
    elif inputs is None:
        write(f"Chatting with {model_dir}. /reset starts over, /exit quits.\n")
        inputs = terminal_inputs()
    return chat_session(model, tokenizer, inputs, write, system, **generation)
