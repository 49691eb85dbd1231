"""Text generation: streamed, batched, and a chat session that keeps its history.

A prompt is either a string (raw completion) or a list of chat messages, which is rendered
with the chat template saved in the model's tokenizer (the one SFT trained with), ending with
the generation prompt. Generation stops at the model's end-of-sequence ids (for lmforge models
`<|endoftext|>` and `<|im_end|>`, listed in `generation_config.json`); greedy when the
temperature is 0. `generate` and `chat_session` write to any callable, so they run without a
terminal; `lmforge.infer.chat` opens a model directory and reads lines for `chat_session`.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model

Prompt = str | list[dict]
Writer = Callable[[str], object]


def render_prompt(tokenizer, prompt: Prompt) -> str:
    """The text the model sees: a string as is, messages through the chat template."""
    if isinstance(prompt, str):
        return prompt
    require_chat_template(tokenizer)
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


def require_chat_template(tokenizer) -> None:
    if getattr(tokenizer, "chat_template", None) is None:
        raise LmforgeError(
            "the tokenizer has no chat template, so a list of messages cannot be rendered.",
            "Give a plain text prompt or use a model made by `lmforge sft`.",
        )


def encode_prompt(tokenizer, prompt: Prompt) -> list[int]:
    """Token ids of a prompt; a rendered chat template already holds its special tokens."""
    text = render_prompt(tokenizer, prompt)
    return list(tokenizer(text, add_special_tokens=isinstance(prompt, str))["input_ids"])


def context_length(model) -> int | None:
    return getattr(model.config, "max_position_embeddings", None)


def new_token_budget(model, n_prompt: int, max_new_tokens: int) -> int:
    """How many tokens may follow a prompt of `n_prompt` tokens; error if none fit."""
    if max_new_tokens < 1:
        raise LmforgeError(f"max_new_tokens is {max_new_tokens}.", "Ask for at least 1 token.")
    limit = context_length(model)
    if limit is None:
        return max_new_tokens
    if n_prompt >= limit:
        raise LmforgeError(
            f"the prompt is {n_prompt} tokens long but the model's context is {limit} tokens.",
            "Shorten the prompt (in a chat, /reset the conversation).",
        )
    return min(max_new_tokens, limit - n_prompt)


def eos_ids(model, tokenizer) -> list[int]:
    """The ids that end generation: the generation config's, else the tokenizer's eos."""
    ids = model.generation_config.eos_token_id
    if ids is None:
        ids = tokenizer.eos_token_id
    if ids is None:
        return []
    return [ids] if isinstance(ids, int) else list(ids)


def pad_id(model, tokenizer) -> int:
    for candidate in (tokenizer.pad_token_id, model.generation_config.pad_token_id):
        if candidate is not None:
            return candidate
    ends = eos_ids(model, tokenizer)
    return ends[0] if ends else 0


def generation_config(model, tokenizer, max_new_tokens: int, temperature: float, top_p: float):
    if temperature < 0:
        raise LmforgeError(f"temperature {temperature} is negative.", "Use 0 (greedy) or more.")
    if not 0 < top_p <= 1:
        raise LmforgeError(f"top_p {top_p} is not in (0, 1].", "Use e.g. 0.9, or 1 to disable.")
    config = copy.deepcopy(model.generation_config)
    sample = temperature > 0
    config.update(
        max_new_tokens=max_new_tokens,
        max_length=None,
        do_sample=sample,
        temperature=temperature if sample else None,
        top_p=top_p if sample else None,
        top_k=None,
        eos_token_id=eos_ids(model, tokenizer),
        pad_token_id=pad_id(model, tokenizer),
    )
    return config


class _StopFlag(StoppingCriteria):
    """Stops a generation running in another thread once its reader has gone away."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), device=input_ids.device)


class _Streamer(TextIteratorStreamer):
    """Text pieces without the end tokens (decoded even when they are not special tokens)."""

    def __init__(self, tokenizer, ends: list[int]) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.ends = torch.tensor(ends, dtype=torch.long)

    def put(self, value: torch.Tensor) -> None:
        if not self.next_tokens_are_prompt:
            value = value.reshape(-1)
            value = value[~torch.isin(value, self.ends)]
            if value.numel() == 0:
                return
        super().put(value)


def stream_text(
    model,
    tokenizer,
    prompt: Prompt,
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
) -> Iterator[str]:
    """Yield the generated text in pieces as it is produced (special tokens left out)."""
    ids = encode_prompt(tokenizer, prompt)
    budget = new_token_budget(model, len(ids), max_new_tokens)
    config = generation_config(model, tokenizer, budget, temperature, top_p)
    streamer = _Streamer(tokenizer, eos_ids(model, tokenizer))
    stop, errors = _StopFlag(), []

    def work() -> None:
        try:
            with torch.inference_mode():
                model.generate(
                    input_ids=torch.tensor([ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    generation_config=config,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([stop]),
                )
        except BaseException as e:  # re-raised in the reading thread below
            errors.append(e)
            streamer.end()

    torch.manual_seed(seed)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        for piece in streamer:
            if piece:
                yield piece
    finally:
        stop.event.set()
        thread.join()
    if errors:
        raise errors[0]


def generate_batch(
    model,
    tokenizer,
    prompts: list[Prompt],
    max_new_tokens: int = 64,
    batch_size: int = 8,
    progress: Callable[[int], object] | None = None,
) -> list[str]:
    """Greedy continuations of `prompts`, in order: only the new text, right-stripped.

    Prompts are left-padded in batches of similar length; each gets exactly the tokens it would
    get alone (cut at its first eos and at its own room in the context). `progress(n)` is called
    with the number of prompts finished after each batch.
    """
    if batch_size < 1:
        raise LmforgeError(f"batch size {batch_size} is less than 1.")
    encoded = [encode_prompt(tokenizer, p) for p in prompts]
    budgets = [new_token_budget(model, len(ids), max_new_tokens) for ids in encoded]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    outputs: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        texts = _generate_left_padded(
            model, tokenizer, [encoded[i] for i in chunk], [budgets[i] for i in chunk]
        )
        for i, text in zip(chunk, texts, strict=True):
            outputs[i] = text
        if progress is not None:
            progress(len(chunk))
    return outputs


def left_padded(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`input_ids` and `attention_mask` of token rows padded on the left, as generation wants."""
    width = max(len(r) for r in rows)
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return input_ids, mask


def _generate_left_padded(model, tokenizer, rows: list[list[int]], budgets: list[int]):
    input_ids, mask = left_padded(rows, pad_id(model, tokenizer))
    width = input_ids.shape[1]
    config = generation_config(model, tokenizer, max(budgets), 0.0, 1.0)
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config)
    ends = set(eos_ids(model, tokenizer))
    texts = []
    for row, budget in zip(out[:, width:].tolist(), budgets, strict=True):
        row = row[:budget]
        cut = next((j for j, t in enumerate(row) if t in ends), len(row))
        texts.append(tokenizer.decode(row[:cut], skip_special_tokens=True).rstrip())
    return texts


def stdout_writer(text: str) -> None:
    """Write to stdout at once, so streamed pieces show as they come."""
    sys.stdout.write(text)
    sys.stdout.flush()


def generate(
    model_dir: Path,
    prompt: str,
    write: Writer = stdout_writer,
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
) -> str:
    """`lmforge generate`: stream a completion of `prompt` to `write`; return the text."""
    model, tokenizer = load_model(model_dir)
    pieces = []
    for piece in stream_text(model, tokenizer, prompt, max_new_tokens, temperature, top_p, seed):
        pieces.append(piece)
        write(piece)
    write("\n")
    return "".join(pieces)


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
    require_chat_template(tokenizer)  # say so before the first message, not after each
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
