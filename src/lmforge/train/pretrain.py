"""`lmforge pretrain`: next-token prediction on a corpus of `{"text": ...}` JSONL records.

Documents are tokenized, ended with `<|endoftext|>` and packed back to back into rows of
`--seq-len` tokens with no attention across document boundaries (see `packing`).
"""

from __future__ import annotations

from pathlib import Path

from lmforge.jsonl import iter_texts
from lmforge.train.config import TrainConfig
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import Example, PackedRows, pack_stream
from lmforge.train.run import fit_and_save


def corpus_rows(data: list[Path], tokenizer, seq_len: int) -> tuple[PackedRows, dict]:
    texts = list(iter_texts(data))
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    examples = (Example([*ids, eos], [True] * (len(ids) + 1)) for ids in encoded)
    rows = pack_stream(examples, seq_len, tokenizer.pad_token_id)
    n_tokens = sum(len(ids) + 1 for ids in encoded)
    return rows, {"documents": len(texts), "corpus_tokens": n_tokens}


def pretrain(
    model: Path, data: list[Path], out: Path, config: TrainConfig, overwrite: bool = False
) -> dict:
    """Pretrain the model in `model` on the corpus `data`; write the trained model to `out`."""
    return fit_and_save(
        "pretrained",
        model,
        data,
        out,
        config,
        lambda tokenizer: corpus_rows(data, tokenizer, config.seq_len),
        CausalLM(),
        overwrite,
    )
