"""Load and save models as plain Hugging Face directories, with clear errors on bad input."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PretrainedConfig

from lmforge.errors import LmforgeError

# fp32 weights + grads + two AdamW moments; activations come on top
TRAINING_BYTES_PER_PARAM = 16


def load_tokenizer(path: str | Path):
    path = Path(path)
    if not path.is_dir():
        raise LmforgeError(f"{path} is not a directory.", "Give a tokenizer or model directory.")
    if not (path / "tokenizer.json").exists() and not (path / "tokenizer_config.json").exists():
        raise LmforgeError(
            f"{path} holds no tokenizer (no tokenizer.json).",
            "Train one with `lmforge tokenizer train` or point at a model directory.",
        )
    return AutoTokenizer.from_pretrained(path)


def load_config(path: str | Path) -> PretrainedConfig:
    path = Path(path)
    if not path.is_dir():
        raise LmforgeError(f"{path} is not a directory.", "Give a model directory.")
    if not (path / "config.json").is_file():
        raise LmforgeError(
            f"{path} is not a model directory (no config.json).",
            "Create one with `lmforge model init` or give a Hugging Face model directory.",
        )
    return AutoConfig.from_pretrained(path)


def load_model(path: str | Path, dtype: torch.dtype = torch.float32):
    """(model, tokenizer) from a Hugging Face model directory, checked against each other."""
    path = Path(path)
    load_config(path)
    tokenizer = load_tokenizer(path)
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise LmforgeError(f"{path} has a config but no weights (*.safetensors).")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    check_tokenizer_matches(tokenizer, model.config, path)
    return model, tokenizer


def check_tokenizer_matches(tokenizer, config: PretrainedConfig, where: Path | str) -> None:
    if len(tokenizer) > config.vocab_size:
        raise LmforgeError(
            f"the tokenizer in {where} has {len(tokenizer)} tokens but the model only "
            f"{config.vocab_size} embeddings: they do not belong together.",
            "Use the tokenizer the model was built with.",
        )


def save_model(model, tokenizer, out: Path) -> None:
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def count_parameters(config: PretrainedConfig) -> int:
    """Parameters of a model built from `config`, counted without allocating its weights."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def available_memory_bytes() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # not POSIX: skip the check rather than guess
        return 1 << 62


def check_fits_in_memory(config: PretrainedConfig) -> int:
    """Refuse a config whose training state cannot fit in RAM; return its parameter count."""
    n_params = count_parameters(config)
    needed = n_params * TRAINING_BYTES_PER_PARAM
    available = available_memory_bytes()
    if not torch.cuda.is_available() and needed > available:
        raise LmforgeError(
            f"a model of {n_params / 1e9:.1f}B parameters needs about {needed / 2**30:.0f} GiB to "
            f"train in fp32, but this machine has {available / 2**30:.0f} GiB free.",
            "Choose a smaller --size (e.g. tiny or small) or use a GPU.",
        )
    return n_params
