"""`lmforge tokenizer train`: a byte-level BPE tokenizer trained with the `tokenizers` library.

Byte-level means every string round-trips exactly (English, Korean, emoji, control
characters): there is no unknown token and no normalisation. The result is a plain Hugging Face
tokenizer directory (`tokenizer.json`, `tokenizer_config.json`, chat template) that
`transformers.AutoTokenizer.from_pretrained` opens without lmforge.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from lmforge.errors import LmforgeError
from lmforge.jsonl import iter_texts
from lmforge.runs import prepare_out_dir, write_manifest
from lmforge.tokenizer.chat_template import (
    CHAT_TEMPLATE,
    END_OF_TEXT,
    IM_END,
    PAD,
    SPECIAL_TOKENS,
)

MIN_VOCAB = 256 + len(SPECIAL_TOKENS)


def check_vocab_size(vocab_size: int) -> None:
    if vocab_size < MIN_VOCAB:
        raise LmforgeError(
            f"vocab size {vocab_size} is too small.",
            f"A byte-level vocabulary needs at least {MIN_VOCAB} entries.",
        )


def build_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    check_vocab_size(vocab_size)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def wrap(tokenizer: Tokenizer, model_max_length: int = 2048) -> PreTrainedTokenizerFast:
    """The `transformers` view of a trained tokenizer, with special tokens and chat template."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=END_OF_TEXT,
        bos_token=END_OF_TEXT,
        pad_token=PAD,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (END_OF_TEXT, PAD)],
        chat_template=CHAT_TEMPLATE,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )


def train_tokenizer(
    inputs: list[Path], out: Path, vocab_size: int = 4096, overwrite: bool = False
) -> dict:
    """Train a byte-level BPE on the `text` of JSONL records and save it as an HF tokenizer."""
    check_vocab_size(vocab_size)
    out = prepare_out_dir(out, overwrite=overwrite)
    texts = list(iter_texts(inputs))
    if not texts:
        raise LmforgeError(f"no text found in {', '.join(map(str, inputs))}.")
    hf_tokenizer = wrap(build_bpe(texts, vocab_size))
    hf_tokenizer.save_pretrained(out)
    n_tokens = sum(len(ids) for ids in hf_tokenizer(texts)["input_ids"])
    n_chars = sum(len(t) for t in texts)
    metrics = {
        "vocab_size": len(hf_tokenizer),
        "documents": len(texts),
        "tokens": n_tokens,
        "chars_per_token": round(n_chars / max(n_tokens, 1), 3),
        "im_end_id": hf_tokenizer.convert_tokens_to_ids(IM_END),
    }
    write_manifest(
        out,
        kind="tokenizer",
        config={"type": "byte-level-bpe", "vocab_size": vocab_size},
        inputs={f"corpus{i}" if i else "corpus": p for i, p in enumerate(inputs)},
        metrics=metrics,
    )
    return metrics
