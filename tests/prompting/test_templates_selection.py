"""Templates render exactly; demonstrations are chosen deterministically and dropped first."""

from __future__ import annotations

import pytest

from lmforge.errors import LmforgeError
from lmforge.prompting.selection import KNNSelector, RandomSelector
from lmforge.prompting.templates import Demo, PromptTemplate, render

DEMOS = [
    Demo("What is 1 + 1?", "2", "ones: 1 + 1 = 2\nAnswer: 2"),
    Demo("Capital of Velden?", "Orlen"),
]


def test_completion_and_chat_rendering_are_exact():
    template = PromptTemplate(instruction="Answer briefly.")
    text = render(template, "What is 2 + 3?", DEMOS).prompt
    assert text == (
        "Answer briefly.\n\nQuestion: What is 1 + 1?\nAnswer: 2\n\n"
        "Question: Capital of Velden?\nAnswer: Orlen\n\nQuestion: What is 2 + 3?\nAnswer:"
    )
    messages = render(template, "What is 2 + 3?", DEMOS[:1], mode="chat").prompt
    assert messages == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is 1 + 1?"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "What is 2 + 3?"},
    ]
    cot = render(PromptTemplate(use_rationales=True), "q?", DEMOS, cue="Let's go.").prompt
    assert cot == (
        "Question: What is 1 + 1?\nAnswer: ones: 1 + 1 = 2\nAnswer: 2\n\n"
        "Question: Capital of Velden?\nAnswer: The answer is Orlen.\n\nQuestion: q?\n"
        "Answer: Let's go."
    )  # a demonstration without reasoning still shows the marker replies are parsed by


def test_too_long_prompts_drop_demonstrations_from_the_last():
    fits = lambda prompt: len(prompt.split()) <= 16  # noqa: E731
    rendered = render(PromptTemplate(), "What is 2 + 3?", DEMOS, fits=fits)
    assert rendered.demos == DEMOS[:1] and rendered.dropped == 1
    assert rendered.notes == ["dropped 1 of 2 demonstrations to fit the context"]
    with pytest.raises(LmforgeError, match="even without demonstrations"):
        render(PromptTemplate(), "a very long question " * 5, DEMOS, fits=fits)


POOL = [Demo(f"What is {a} + {b}?", str(a + b)) for a, b in [(1, 2), (30, 4), (7, 7), (12, 9)]]
POOL += [Demo("What is the main export of Kamori?", "copper"), Demo("Where is Tessa?", "Velden")]


def test_random_selection_is_seeded_per_query():
    one, two = RandomSelector(POOL, 3, seed=0), RandomSelector(POOL, 3, seed=0)
    assert one("What is 5 + 5?") == two("What is 5 + 5?")
    draws = {tuple(d.question for d in RandomSelector(POOL, 3, seed=s)("q")) for s in range(8)}
    assert len(draws) > 1
    assert POOL[0] not in RandomSelector(POOL, 5, seed=1)(POOL[0].question)  # never itself


def test_knn_picks_the_most_similar_demonstrations():
    picked = KNNSelector(POOL, 2)("What is the main export of Orlen?")
    assert picked[0].answer == "copper"
    assert [d.answer for d in KNNSelector(POOL, 1)("Where is Halden?")] == ["Velden"]
    custom = KNNSelector(POOL, 1, embed=lambda texts: [[len(t), 1.0] for t in texts])
    assert len(custom("x")) == 1
    with pytest.raises(LmforgeError, match="only 6 demonstrations"):
        KNNSelector(POOL, 7)
