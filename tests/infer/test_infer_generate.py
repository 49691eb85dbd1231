"""Streamed, batched and chat generation: same greedy text every way, stops and errors."""

from __future__ import annotations

import time

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.infer import chat, chat_session, generate, generate_batch, render_prompt, stream_text
from lmforge.infer.generate import encode_prompt, new_token_budget

PROMPTS = [
    "Kamori is",
    "카모리는 마을",
    "Its main export is copper. Tessa is a town and",
    "x",
    [{"role": "user", "content": "What is the main export of Tessa?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "안녕"}],
    "Halden",
]
N_NEW = 12


@pytest.fixture(scope="module")
def alone(loaded) -> list[str]:
    """Greedy text for each prompt, generated on its own."""
    model, tokenizer = loaded
    return [generate_batch(model, tokenizer, [p], max_new_tokens=N_NEW)[0] for p in PROMPTS]


def test_streamed_pieces_join_to_the_greedy_text(loaded, alone):
    model, tokenizer = loaded
    n_pieces = 0
    for prompt, expected in zip(PROMPTS, alone, strict=True):
        pieces = list(stream_text(model, tokenizer, prompt, max_new_tokens=N_NEW))
        n_pieces = max(n_pieces, len(pieces))
        assert "".join(pieces).rstrip() == expected
    assert n_pieces > 1  # it streams, not one lump at the end
    assert len(set(alone)) == len(alone)  # the model says different things to different prompts
    assert all(alone)


def test_batched_equals_one_by_one(loaded, alone):
    model, tokenizer = loaded
    for batch_size in (3, 8):
        batched = generate_batch(model, tokenizer, PROMPTS, N_NEW, batch_size=batch_size)
        assert batched == alone


def test_batching_leaves_the_tokenizer_as_it_was(loaded):
    model, tokenizer = loaded
    side = tokenizer.padding_side
    generate_batch(model, tokenizer, PROMPTS[:3], max_new_tokens=2)
    assert tokenizer.padding_side == side


def test_messages_are_rendered_with_the_chat_template(loaded):
    model, tokenizer = loaded
    messages = [{"role": "user", "content": "What is the main export of Tessa?"}]
    text = render_prompt(tokenizer, messages)
    assert "<|im_start|>user: What is the main export of Tessa?<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant:")
    from_messages = "".join(stream_text(model, tokenizer, messages, max_new_tokens=12))
    from_text = "".join(stream_text(model, tokenizer, text, max_new_tokens=12))
    assert from_messages == from_text


def test_generation_stops_at_the_generation_config_eos_ids(loaded):
    model, tokenizer = loaded
    prompt = "Kamori is"
    with torch.no_grad():
        logits = model(torch.tensor([encode_prompt(tokenizer, prompt)])).logits
    first_new = int(logits[0, -1].argmax())  # the token greedy decoding would write first
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [*saved, first_new]
    try:
        assert "".join(stream_text(model, tokenizer, prompt, max_new_tokens=10)) == ""
        assert generate_batch(model, tokenizer, [prompt, "Halden"], max_new_tokens=10)[0] == ""
    finally:
        model.generation_config.eos_token_id = saved


def test_a_prompt_longer_than_the_context_is_refused(loaded):
    model, tokenizer = loaded
    limit = model.config.max_position_embeddings
    prompt = "Kamori is a town. " * 200
    n = len(encode_prompt(tokenizer, prompt))
    with pytest.raises(LmforgeError, match=rf"{n} tokens.*context is {limit} tokens"):
        list(stream_text(model, tokenizer, prompt))
    with pytest.raises(LmforgeError, match=str(limit)):
        generate_batch(model, tokenizer, ["x", prompt])


def test_new_tokens_are_capped_by_the_room_left_in_the_context(loaded):
    model, tokenizer = loaded
    limit = model.config.max_position_embeddings
    ids = encode_prompt(tokenizer, "Kamori is a town. " * 100)[: limit - 3]
    prompt = tokenizer.decode(ids)
    assert len(encode_prompt(tokenizer, prompt)) == limit - 3
    assert new_token_budget(model, len(ids), 50) == 3
    assert new_token_budget(model, 10, 50) == 50
    text = "".join(stream_text(model, tokenizer, prompt, max_new_tokens=5))
    assert generate_batch(model, tokenizer, [prompt, "x"], max_new_tokens=5)[0] == text.rstrip()


def test_sampling_is_seeded_and_options_are_checked(loaded):
    model, tokenizer = loaded
    run = lambda seed: "".join(  # noqa: E731
        stream_text(model, tokenizer, "Kamori", 8, temperature=1.0, top_p=0.9, seed=seed)
    )
    assert run(3) == run(3)
    assert len({run(s) for s in range(4)}) > 1
    with pytest.raises(LmforgeError, match="temperature"):
        list(stream_text(model, tokenizer, "x", temperature=-1))
    with pytest.raises(LmforgeError, match="max_new_tokens is 0"):
        list(stream_text(model, tokenizer, "x", max_new_tokens=0))
    with pytest.raises(LmforgeError, match="top_p"):
        list(stream_text(model, tokenizer, "x", temperature=1, top_p=0))


def test_closing_a_stream_early_stops_the_generation(loaded):
    model, tokenizer = loaded
    started = time.perf_counter()
    stream = stream_text(model, tokenizer, "Kamori is", max_new_tokens=10_000)
    next(stream)
    stream.close()
    assert time.perf_counter() - started < 5


def test_chat_session_keeps_history_and_handles_commands(loaded):
    model, tokenizer = loaded
    written: list[str] = []
    inputs = [
        "Hello",
        "",
        "/reset",
        "What is the main export of Tessa?",
        "And Kamori?",
        "/exit",
        "x",
    ]
    history = chat_session(
        model, tokenizer, inputs, written.append, system="Be brief.", max_new_tokens=N_NEW
    )
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    assert history[1]["content"] == "What is the main export of Tessa?"
    assert history[3]["content"] == "And Kamori?"
    output = "".join(written)
    assert "(conversation reset)" in output
    # the second answer was generated with the first exchange in the prompt
    second = generate_batch(model, tokenizer, [history[:4]], max_new_tokens=N_NEW)[0]
    assert history[4]["content"] == second.strip()
    assert history[4]["content"] in output


def test_chat_session_reports_a_conversation_that_outgrew_the_context(loaded):
    model, tokenizer = loaded
    written: list[str] = []
    history = chat_session(model, tokenizer, ["Kamori " * 300], written.append)
    assert history == []
    assert "context" in "".join(written)


def test_generate_and_chat_write_the_streamed_text(model_dir):
    written: list[str] = []
    text = generate(model_dir, "Kamori is", write=written.append, max_new_tokens=12)
    assert "".join(written) == text + "\n"
    assert text
    written.clear()
    history = chat(
        model_dir,
        message="What is the main export of Tessa?",
        write=written.append,
        max_new_tokens=8,
    )
    assert history[-1]["role"] == "assistant"
    assert "".join(written) == history[-1]["content"] + "\n"


def test_chat_needs_a_chat_template(model_dir):
    from lmforge.models.io import load_model

    model, tokenizer = load_model(model_dir)
    tokenizer.chat_template = None
    with pytest.raises(LmforgeError, match="no chat template"):
        chat_session(model, tokenizer, ["hi"], print)
    with pytest.raises(LmforgeError, match="no chat template"):
        generate_batch(model, tokenizer, [[{"role": "user", "content": "hi"}]])


def test_chat_sends_each_given_message(model_dir):
    written: list[str] = []
    history = chat(
        model_dir, message=["hi", "/reset", "there"], write=written.append, max_new_tokens=4
    )
    assert [m["content"] for m in history if m["role"] == "user"] == ["there"]
