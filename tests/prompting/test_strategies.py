"""Every strategy's exact prompts and parsing, with the scripted backend."""

from __future__ import annotations

from lmforge.infer.backends import ScriptedBackend
from lmforge.prompting.strategies import make_strategy
from lmforge.prompting.strategies.cot import PS, PS_PLUS
from lmforge.prompting.templates import Demo
from support import single_thread

ARITH = {"question": "What is 12 + 30?", "answer": "42"}
DEMO = Demo("What is 1 + 2?", "3", "ones: 1 + 2 = 3\nAnswer: 3")


def test_direct_sends_one_prompt_and_parses_the_first_line():
    backend = ScriptedBackend(["Kamori\nQuestion: next"])
    answer = make_strategy("direct", select=lambda q: [Demo("Where?", "Velden")]).run(
        backend, {"question": "Which town?"}
    )
    assert backend.prompts == ["Question: Where?\nAnswer: Velden\n\nQuestion: Which town?\nAnswer:"]
    assert backend.calls[0].options["stop"] == ["\nQuestion:"]
    assert answer.answer == "Kamori" and len(answer.steps) == 1


def test_zero_shot_cot_reasons_then_extracts():
    backend = ScriptedBackend(["12 plus 30 makes 42.", " 42."])
    answer = make_strategy("cot", match="numeric").run(backend, ARITH)
    first = "Question: What is 12 + 30?\nAnswer: Let's think step by step."
    assert backend.prompts == [first, f"{first} 12 plus 30 makes 42.\nTherefore, the answer is"]
    assert answer.answer == "42" and [s.name for s in answer.steps] == ["reason", "extract"]


def test_plan_and_solve_uses_the_paper_wording():
    for name, cue in [("ps", PS), ("ps+", PS_PLUS)]:
        backend = ScriptedBackend(["plan", "7"])
        answer = make_strategy(name, match="numeric").run(backend, ARITH)
        assert backend.prompts[0].endswith(f"Answer: {cue}")
        assert backend.prompts[1].endswith("Therefore, the answer (arabic numerals) is")
        assert answer.answer == "7"


def test_few_shot_cot_shows_rationales_and_needs_a_marker():
    backend = ScriptedBackend(["tens: 1 + 3 = 4\nAnswer: 42", "I am not sure."])
    strategy = make_strategy("fewshot-cot", match="numeric", select=lambda q: [DEMO])
    assert strategy.run(backend, ARITH).answer == "42"
    assert backend.prompts[0] == (
        "Question: What is 1 + 2?\nAnswer: ones: 1 + 2 = 3\nAnswer: 3\n\n"
        "Question: What is 12 + 30?\nAnswer:"
    )
    unparsed = strategy.run(backend, ARITH)
    assert unparsed.answer is None and unparsed.unparsed and unparsed.steps[0].reply


def test_self_consistency_votes_on_normalised_answers():
    replies = ["Answer: 42", "the answer is 41", "Answer: 1,042", "no idea", "The answer is 41."]
    backend = ScriptedBackend(replies)
    answer = make_strategy("sc", match="numeric", samples=5, seed=10).run(backend, ARITH)
    assert answer.votes == {"42": 1, "41": 2, "1042": 1}
    assert answer.answer == "41" and answer.confidence == 2 / 5
    assert [c.options["seed"] for c in backend.calls] == [10, 11, 12, 13, 14]
    assert {c.options["temperature"] for c in backend.calls} == {0.7}
    assert len(set(map(str, backend.prompts))) == 1
    tie = make_strategy("sc", samples=2).run(ScriptedBackend(["Answer: b", "Answer: a"]), ARITH)
    assert tie.answer == "b" and tie.confidence == 0.5
    none = make_strategy("sc", samples=2).run(ScriptedBackend(["?", "?"]), ARITH)
    assert none.answer is None and none.confidence == 0.0


def test_least_to_most_feeds_sub_answers_forward():
    replies = ["1. What is 2 + 0?\n- What is 10 + 30?\nWhat is 12 + 30?", "2", "40", "42"]
    backend = ScriptedBackend(replies)
    answer = make_strategy("l2m", match="numeric").run(backend, ARITH)
    assert backend.prompts[0].startswith("Question: Break the question into simpler")
    assert backend.prompts[1] == (
        "Question: What is 12 + 30?\n\nSub-question: What is 2 + 0?\nAnswer:"
    )
    assert backend.prompts[2] == (
        "Question: What is 12 + 30?\n\nSub-question: What is 2 + 0?\nSub-answer: 2\n\n"
        "Sub-question: What is 10 + 30?\nAnswer:"
    )
    assert backend.prompts[3].endswith(
        "Sub-question: What is 10 + 30?\nSub-answer: 40\n\n"
        "Original question: What is 12 + 30?\nAnswer:"
    )
    assert answer.answer == "42" and len(answer.steps) == 4


def test_chat_mode_keeps_messages():
    backend = ScriptedBackend(["thinking", "5"])
    make_strategy("cot", mode="chat", match="numeric").run(backend, ARITH)
    assert backend.prompts[1] == [
        {"role": "user", "content": "What is 12 + 30?\nLet's think step by step."},
        {"role": "assistant", "content": "thinking"},
        {"role": "user", "content": "Therefore, the answer is"},
    ]
    assert "stop" not in {k for c in backend.calls for k, v in c.options.items() if v}


def test_demonstrations_are_dropped_to_fit_and_the_step_says_so():
    backend = ScriptedBackend(["Answer: 42"], context_window=50)
    demos = [DEMO, Demo("What is 2 + 2?", "4", "ones: 2 + 2 = 4\nAnswer: 4")]
    strategy = make_strategy("fewshot-cot", match="numeric", select=lambda q: demos, max_tokens=20)
    answer = strategy.run(backend, ARITH)
    assert backend.prompts[0].count("Question:") == 2  # one demo kept, the second dropped
    assert answer.steps[0].notes == ["dropped 1 of 2 demonstrations to fit the context"]


def test_cot_keeps_room_for_extraction_in_a_small_window(tiny_model_dir):
    from lmforge.infer.backends import load_backend

    backend = load_backend(str(tiny_model_dir))  # its 256-token window takes no 256-token rationale
    strategy = make_strategy("cot", match="numeric")
    with single_thread():
        answer = strategy.run(backend, ARITH)
    _reason, extract = answer.steps
    room = backend.context_window - backend.count_tokens(extract.prompt)
    assert room >= strategy.extract_tokens
