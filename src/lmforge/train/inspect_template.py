"""`lmforge inspect template`: show one chat record as the model sees it in training.

Trained tokens (the assistant's words and the `<|im_end|>` that teaches the model to stop)
are highlighted; everything else is dimmed. What you see is what `lmforge sft` trains.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from lmforge.errors import LmforgeError
from lmforge.models.io import load_tokenizer
from lmforge.train.chat_data import chat_example, load_chats


def template_view(tokenizer, messages: list[dict]) -> tuple[Text, int, int]:
    """(highlighted text, trained tokens, total tokens) of one conversation."""
    example = chat_example(tokenizer, messages)
    text = Text()
    for token_id, trained in zip(example.ids, example.trained, strict=True):
        piece = tokenizer.decode([token_id])
        text.append(piece, style="bold black on green" if trained else "dim")
    return text, sum(example.trained), len(example.ids)


def show_template(model: Path, data: list[Path], index: int = 0) -> None:
    tokenizer = load_tokenizer(model)
    chats = load_chats(data)
    if not 0 <= index < len(chats):
        raise LmforgeError(f"--index {index} is out of range: the data has {len(chats)} records.")
    text, trained, total = template_view(tokenizer, chats[index])
    console = Console()
    console.print(text)
    console.print(
        f"\n[bold]{trained}[/] of {total} tokens are trained "
        "([black on green]highlighted[/]); the rest is context."
    )
