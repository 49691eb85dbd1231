"""Log-likelihoods (lm-eval's split, batch-size invariant, equal to a manual sum) and matching."""

from __future__ import annotations

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.eval.scoring import (
    answer_text,
    choice_scores,
    encode_pair,
    exact_match,
    last_integer,
    loglikelihoods,
    normalize_answer,
    numeric_match,
)
from lmforge.models.io import load_model

CHAT = "<|im_start|>user: What is the main export of Kamori?<|im_end|>\n<|im_start|>assistant:"
REQUESTS = [
    ("Question: What is the main export of Kamori?\nAnswer:", " copper"),
    ("Question: What is the main export of Kamori?\nAnswer:", " salt"),
    ("Question: What is the main export of Kamori?\nAnswer: ", "timber"),
    ("Kamori is a town.", " Its main export is copper."),
    ("카모리는 마을이다.", " 주요 수출품은 구리이다."),
    (CHAT, " copper"),
    (CHAT, " salt"),
    (CHAT, " copper<|im_end|>"),
    ("x", "y"),
    ("Tessa is a town. " * 5, "Tessa"),
    ("", "Kamori is a town."),
]


@pytest.fixture(scope="module")
def sft(sft_model):
    return load_model(sft_model)


def manual_loglik(model, tokenizer, context: str, continuation: str) -> float:
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    n_context = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].double(), dim=-1)
    return sum(float(logprobs[i - 1, whole[i]]) for i in range(n_context, len(whole)))


def test_batch_size_does_not_change_loglikelihoods(sft):
    model, tokenizer = sft
    one = loglikelihoods(model, tokenizer, REQUESTS, batch_size=1)
    eight = loglikelihoods(model, tokenizer, REQUESTS, batch_size=8)
    three = loglikelihoods(model, tokenizer, REQUESTS, batch_size=3)
    for (a, greedy_a), (b, greedy_b), (c, _) in zip(one, eight, three, strict=True):
        assert a == pytest.approx(b, abs=1e-5)
        assert a == pytest.approx(c, abs=1e-5)
        assert greedy_a == greedy_b
    assert len({round(ll, 3) for ll, _ in one}) == len(REQUESTS)  # results stay in input order


def test_loglikelihood_is_the_sum_of_continuation_logprobs(sft):
    model, tokenizer = sft
    context, continuation = REQUESTS[3]
    [(loglik, _)] = loglikelihoods(model, tokenizer, [(context, continuation)])
    assert loglik == pytest.approx(manual_loglik(model, tokenizer, context, continuation), abs=1e-4)
    assert loglik < 0


def test_is_greedy_for_what_the_tuned_model_would_say(sft):
    model, tokenizer = sft
    # (a context ending in whitespace would move it into the continuation, as lm-eval does)
    (stop, stop_greedy), (more, more_greedy), (_, salt_greedy) = loglikelihoods(
        model,
        tokenizer,
        [(CHAT + "copper", "<|im_end|>"), (CHAT + "copper", " salt"), (CHAT, "salt<|im_end|>")],
    )
    assert stop_greedy and not more_greedy and not salt_greedy
    assert stop > more


def test_trailing_context_spaces_move_to_the_continuation(sft):
    _, tokenizer = sft
    context, continuation = encode_pair(tokenizer, "Answer: ", "timber")
    assert context == encode_pair(tokenizer, "Answer:", " timber")[0]
    assert tokenizer.decode(continuation) == " timber"
    whole = tokenizer("Answer: timber", add_special_tokens=False)["input_ids"]
    assert context + continuation == whole
    empty_context, _ = encode_pair(tokenizer, "", "Kamori")
    assert empty_context == [tokenizer.bos_token_id]


def test_contexts_longer_than_the_model_are_cut_from_the_left(sft):
    model, tokenizer = sft
    long_context = "Kamori is a town. " * 200
    [(long, _)] = loglikelihoods(model, tokenizer, [(long_context, " Its main export")])
    assert long < 0
    with pytest.raises(LmforgeError, match="continuation"):
        loglikelihoods(model, tokenizer, [("x", "")])


def test_choice_scores_acc_and_acc_norm():
    assert choice_scores([-4.0, -6.0], ["a", "bbbbbb"]) == (0, 1)
    assert choice_scores([-3.0, -1.0, -2.0], ["x", "y", "z"]) == (1, 1)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("  Copper! ", "copper"),
        ("The  Orlen\tRiver.", "the orlen river"),
        ("«Kamori»", "kamori"),
        ("구리。", "구리"),
        ("「소금」이다!", "소금이다"),
        ("양모, 목재…", "양모 목재"),
        ("ＣＯＰＰＥＲ", "copper"),
        ("Straße", "strasse"),
    ],
)
def test_normalize_answer(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_uses_aliases():
    assert exact_match("Copper.", ["copper"])
    assert exact_match("copper ore", ["copper", "copper ore"])
    assert not exact_match("copper and salt", ["copper"])
    assert exact_match("구리!", ["구리"])


def test_numeric_match_takes_the_last_integer():
    assert last_integer("2 + 3 = 5") == 5
    assert last_integer("it is -12") == -12
    assert last_integer("1,234 apples") == 1234
    assert last_integer("none") is None
    assert numeric_match("The answer is 8.", "8")
    assert not numeric_match("8 or 9", "8")
    assert not numeric_match("no idea", "8")


def test_answer_text_stops_at_the_next_question():
    assert answer_text(" copper\nQuestion: What is ...") == "copper"
    assert answer_text("\n salt \nmore") == "salt"
    assert answer_text(" 2 + 3 = 5\nQuestion: 1 + 1?", "numeric") == "2 + 3 = 5"
    assert answer_text("") == ""
