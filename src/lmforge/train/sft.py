"""`lmforge sft`: supervised fine-tuning on chat records, loss only on the assistant's tokens.

Each conversation is rendered with the chat template saved in the model directory (the same
one `generate`/`chat` use), so what is trained is exactly what the model will see.
Conversations are packed whole into rows, with no attention between them (one per row for
PEFT methods that put virtual tokens in front of a row). `peft=` picks which parameters
train (`train.methods`); the loop is the same.
"""

from __future__ import annotations

from pathlib import Path

from lmforge.train.chat_data import chat_example, load_chats
from lmforge.train.config import TrainConfig
from lmforge.train.methods import PeftOptions, build_method
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import Example, PackedRows, RowBuilder, pack_whole
from lmforge.train.run import fit_and_save


def chat_rows(
    data: list[Path], tokenizer, seq_len: int, pack: bool = True
) -> tuple[PackedRows, dict]:
    examples = [chat_example(tokenizer, messages) for messages in load_chats(data)]
    truncated = sum(len(e.ids) > seq_len for e in examples)
    examples = [Example(e.ids[:seq_len], e.trained[:seq_len]) for e in examples]
    rows = (pack_whole if pack else one_per_row)(examples, seq_len, tokenizer.pad_token_id)
    trained = sum(sum(e.trained) for e in examples)
    return rows, {"conversations": len(examples), "truncated": truncated, "trained_tokens": trained}


def one_per_row(examples: list[Example], seq_len: int, pad_id: int) -> PackedRows:
    """One example per row, padded at the end (causal attention never reaches the padding)."""
    builder = RowBuilder(seq_len, pad_id)
    for example in examples:
        builder.add(example.ids, example.trained)
        builder.flush()
    return builder.result()


def sft(
    model: Path,
    data: list[Path],
    out: Path,
    config: TrainConfig,
    overwrite: bool = False,
    peft: PeftOptions | str | None = None,
) -> dict:
    """Fine-tune the model in `model` on the chat records in `data`; write it to `out`.

    `peft`: a method name ("lora", ...) or `PeftOptions`; None trains every parameter.
    """
    method = build_method(peft) if peft is not None else None
    pack = method is None or method.packs
    return fit_and_save(
        "sft",
        model,
        data,
        out,
        config,
        lambda tokenizer: chat_rows(data, tokenizer, config.seq_len, pack),
        CausalLM(),
        overwrite,
        method,
    )
