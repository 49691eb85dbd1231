"""`lmforge model init`: a Llama-architecture model built from a config by `transformers`.

No model code is written here: the sizes below are `LlamaConfig` arguments. The result is a
plain Hugging Face directory (config.json + model.safetensors + tokenizer files).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig

from lmforge.errors import LmforgeError
from lmforge.models.io import check_fits_in_memory, load_tokenizer, save_model
from lmforge.runs import prepare_out_dir, write_manifest
from lmforge.tokenizer.chat_template import END_OF_TEXT, IM_END


@dataclass(frozen=True)
class ModelSize:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    max_position_embeddings: int = 512


SIZES: dict[str, ModelSize] = {
    # tests: a forward/backward pass takes milliseconds
    "tiny": ModelSize(64, 2, 4, 2, 128, 256),
    # the quickstart: learns the small lab world in minutes on 2 CPU cores
    "small": ModelSize(192, 4, 6, 2, 512, 512),
    "base": ModelSize(512, 8, 8, 4, 1408, 1024),
    "large": ModelSize(1024, 16, 16, 8, 2816, 2048),
}


def build_config(size: str, vocab_size: int, pad_id: int, eos_ids: list[int]) -> LlamaConfig:
    if size not in SIZES:
        raise LmforgeError(f"unknown model size {size!r}.", f"Choose one of {', '.join(SIZES)}.")
    return LlamaConfig(
        vocab_size=vocab_size,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        bos_token_id=eos_ids[0],
        eos_token_id=eos_ids[0],
        **asdict(SIZES[size]),
    )


def init_model(
    tokenizer_dir: Path, out: Path, size: str = "small", seed: int = 0, overwrite: bool = False
) -> dict:
    """Create a randomly initialised model for `tokenizer_dir`'s vocabulary and save it to `out`."""
    tokenizer = load_tokenizer(tokenizer_dir)
    eos_ids = [tokenizer.convert_tokens_to_ids(t) for t in (END_OF_TEXT, IM_END)]
    config = build_config(size, len(tokenizer), tokenizer.pad_token_id, eos_ids)
    n_params = check_fits_in_memory(config)
    out = prepare_out_dir(out, overwrite=overwrite)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    # generation stops at the end of a document or of an assistant turn
    model.generation_config = GenerationConfig(
        eos_token_id=eos_ids, pad_token_id=tokenizer.pad_token_id, bos_token_id=eos_ids[0]
    )
    save_model(model, tokenizer, out)
    metrics = {"parameters": n_params}
    write_manifest(
        out,
        kind="model",
        config={"size": size, "seed": seed, **asdict(SIZES[size])},
        inputs={"tokenizer": tokenizer_dir},
        metrics=metrics,
    )
    return metrics
