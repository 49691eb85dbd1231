"""Chat records → token ids with exactly the assistant's tokens marked for training.

The chat template saved with the model renders the conversation; its `{% generation %}`
markers tell which tokens the assistant wrote. For templates without the markers (many
third-party models), the assistant spans are found by rendering growing prefixes of the
conversation and diffing: the same template, so the same tokens.
"""

from __future__ import annotations

from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.jsonl import iter_jsonl, jsonl_files
from lmforge.train.packing import Example

ROLES = {"system", "user", "assistant", "tool"}


def load_chats(paths: list[Path]) -> list[list[dict]]:
    """The `messages` of every record, validated; errors name file:line and the problem."""
    chats = []
    for path in paths:
        for file in jsonl_files(path):
            for line, record in _numbered(file):
                chats.append(_validate(record.get("messages"), f"{file}:{line}"))
    if not chats:
        raise LmforgeError(f"no chat records in {', '.join(map(str, paths))}.")
    return chats


def _numbered(file: Path):
    # iter_jsonl skips blank lines, so count lines here to report the right one
    lines = iter(i for i, raw in enumerate(file.open("rb"), 1) if raw.strip())
    for record in iter_jsonl(file):
        yield next(lines), record


def _validate(messages, where: str) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise LmforgeError(
            f"{where}: the record has no 'messages' list.",
            'Chat records look like {"messages": [{"role": "user", "content": "..."}, ...]}.',
        )
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise LmforgeError(
                f"{where}: message {i} needs a 'role' ({', '.join(sorted(ROLES))}) and a "
                f"string 'content'; got {str(m)[:80]}."
            )
    if not any(m["role"] == "assistant" for m in messages):
        raise LmforgeError(
            f"{where}: the conversation has no assistant turn, so there is nothing to train on.",
            "Add the assistant's reply or drop the record.",
        )
    return messages


def chat_example(tokenizer, messages: list[dict]) -> Example:
    """Token ids of the rendered conversation; `trained` marks the assistant's tokens."""
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = list(rendered["input_ids"]), list(rendered.get("assistant_masks") or [])
    if not any(mask):
        mask = _mask_by_prefixes(tokenizer, messages, len(ids))
    return Example(ids=ids, trained=[bool(m) for m in mask])


def _mask_by_prefixes(tokenizer, messages: list[dict], n: int) -> list[bool]:
    mask = [False] * n
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_render(tokenizer, messages[:i], generation_prompt=True))
        after = _render(tokenizer, messages[: i + 1], generation_prompt=False)
        end = min(len(after), n)
        # the separator a template puts after a turn is formatting, not the assistant's words
        while end > start and not tokenizer.decode(after[end - 1 : end]).strip():
            end -= 1
        for j in range(start, end):
            mask[j] = True
    return mask


def _render(tokenizer, messages: list[dict], generation_prompt: bool) -> list[int]:
    if not messages:
        return []
    return list(
        tokenizer.apply_chat_template(
            messages, tokenize=True, add_generation_prompt=generation_prompt, return_dict=True
        )["input_ids"]
    )
