"""SFT trains exactly the assistant's tokens (and the end-of-turn that teaches stopping)."""

import pytest

from lmforge.errors import LmforgeError
from lmforge.models.io import load_tokenizer
from lmforge.train.chat_data import _mask_by_prefixes, chat_example, load_chats

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the main export of Kamori?"},
    {"role": "assistant", "content": "copper"},
    {"role": "user", "content": "카모리의 상징 동물은?"},
    {"role": "assistant", "content": "여우"},
]


def _trained_spans(tokenizer, example) -> list[str]:
    spans, current = [], []
    for token, trained in zip(example.ids, example.trained, strict=True):
        if trained:
            current.append(token)
        elif current:
            spans.append(tokenizer.decode(current))
            current = []
    if current:
        spans.append(tokenizer.decode(current))
    return spans


def test_only_assistant_tokens_are_trained(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    example = chat_example(tokenizer, CHAT)
    assert _trained_spans(tokenizer, example) == [" copper<|im_end|>", " 여우<|im_end|>"]
    assert (
        example.ids
        == tokenizer.apply_chat_template(CHAT, tokenize=True, return_dict=True)["input_ids"]
    )


def test_prefix_fallback_agrees_with_generation_markers(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    example = chat_example(tokenizer, CHAT)
    assert _mask_by_prefixes(tokenizer, CHAT, len(example.ids)) == example.trained


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_chat_records_are_validated_with_file_and_line(tmp_path):
    good = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}'
    cases = {
        "no_assistant": ('{"messages": [{"role": "user", "content": "q"}]}', "no assistant turn"),
        "no_messages": ('{"text": "hello"}', "no 'messages' list"),
        "bad_role": ('{"messages": [{"role": "bot", "content": "a"}]}', "needs a 'role'"),
        "not_json": ("{oops", "not valid JSON"),
    }
    for name, (line, message) in cases.items():
        path = _write(tmp_path / f"{name}.jsonl", f"{good}\n\n{line}\n")
        with pytest.raises(LmforgeError, match=rf"{name}.jsonl:3: .*{message}"):
            load_chats([path])
    assert len(load_chats([_write(tmp_path / "ok.jsonl", good + "\n")])) == 1
    with pytest.raises(LmforgeError, match="is empty"):
        load_chats([_write(tmp_path / "empty.jsonl", "")])
