"""`lmforge sft`: supervised fine-tuning on chat records, loss only on the assistant's tokens.

Each conversation is rendered with the chat template saved in the model directory (the same
one `generate`/`chat` use), so what is trained is exactly what the model will see.
Conversations are packed whole into rows, with no attention between them.
"""

from __future__ import annotations

from pathlib import Path

from lmforge.train.chat_data import chat_example, load_chats
from lmforge.train.config import TrainConfig
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import Example, PackedRows, pack_whole
from lmforge.train.run import fit_and_save


def chat_rows(data: list[Path], tokenizer, seq_len: int) -> tuple[PackedRows, dict]:
    examples = [chat_example(tokenizer, messages) for messages in load_chats(data)]
    truncated = sum(len(e.ids) > seq_len for e in examples)
    examples = [Example(e.ids[:seq_len], e.trained[:seq_len]) for e in examples]
    rows = pack_whole(examples, seq_len, tokenizer.pad_token_id)
    trained = sum(sum(e.trained) for e in examples)
    return rows, {"conversations": len(examples), "truncated": truncated, "trained_tokens": trained}


def sft(
    model: Path, data: list[Path], out: Path, config: TrainConfig, overwrite: bool = False
) -> dict:
    """Fine-tune the model in `model` on the chat records in `data`; write it to `out`."""
    return fit_and_save(
        "sft",
        model,
        data,
        out,
        config,
        lambda tokenizer: chat_rows(data, tokenizer, config.seq_len),
        CausalLM(),
        overwrite,
    )
