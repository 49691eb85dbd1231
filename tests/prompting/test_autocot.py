"""Auto-CoT with the scripted backend: clustering, the paper's heuristics, usable demos."""

from __future__ import annotations

from lmforge.infer.backends import ScriptedBackend
from lmforge.prompting.autocot import auto_cot, cluster, count_steps
from lmforge.prompting.strategies import make_strategy

ARITH = ["What is 2 + 3?", "What is 2 + 4?", "What is 3 + 4?"]
TOWNS = [
    "Which town lies in the Velden region?",
    "Which town in the Velden region exports copper?",
    "Which town in the Velden region has the fox as its animal and copper as its export?",
]
QUESTIONS = [ARITH[0], TOWNS[0], ARITH[1], TOWNS[1], ARITH[2], TOWNS[2]]


def by_topic():
    groups = cluster(QUESTIONS, 2, seed=0)
    return sorted(([QUESTIONS[i] for i in g] for g in groups), key=lambda g: g[0] in TOWNS)


def test_clusters_follow_the_topics_nearest_first():
    arith, towns = by_topic()
    assert sorted(arith) == sorted(ARITH) and sorted(towns) == sorted(TOWNS)
    assert by_topic() == [arith, towns]  # seeded: the same every time
    assert count_steps("a\n\nb\n c \n") == 3


def test_heuristics_reject_then_try_the_next_nearest():
    arith, towns = by_topic()
    reasoning = {arith[0]: "1\n2\n3\n4\n5\n6", arith[1]: "Add them.\nSo it is 6."}
    extraction = {arith[1]: " 6.", towns[0]: "", towns[1]: " Kamori."}

    def reply(prompt, options):
        question = next(q for q in QUESTIONS if f"Question: {q}\n" in prompt)
        if prompt.endswith("Therefore, the answer is"):
            return extraction.get(question, " 6.")
        return reasoning.get(question, "It is Kamori.")

    backend = ScriptedBackend(reply)
    result = auto_cot(backend, QUESTIONS, n_clusters=2)
    tried = [(t["question"], t["rejected"]) for t in result.tried]
    assert [t for t in tried if t[0] in ARITH] == [(arith[0], "too_many_steps"), (arith[1], None)]
    assert [t for t in tried if t[0] in TOWNS] == [(towns[0], "unparsed"), (towns[1], None)]
    assert [d.question for d in result.demos] == sorted([arith[1], towns[1]], key=QUESTIONS.index)
    demo = next(d for d in result.demos if d.question == arith[1])
    assert demo.answer == "6"
    assert demo.rationale == "Let's think step by step. Add them.\nSo it is 6.\nThe answer is 6."
    assert f"Question: {arith[0]}\nAnswer: Let's think step by step." in backend.prompts

    strategy = make_strategy("fewshot-cot", select=lambda q: result.demos)
    follow = ScriptedBackend(["So 9.\nThe answer is 9."])
    assert strategy.run(follow, {"question": "What is 4 + 5?"}).answer == "9"
    shown = f"Question: {arith[1]}\nAnswer: Let's think step by step. Add them.\nSo it is 6."
    assert f"{shown}\nThe answer is 6." in follow.prompts[0]


def test_a_too_long_question_costs_no_call():
    backend = ScriptedBackend(lambda p, o: " 5." if p.endswith("is") else "Add.")
    result = auto_cot(backend, [TOWNS[2], ARITH[0]], n_clusters=1, max_question_words=8)
    # two points are equally near their centroid: the earlier question is tried first
    assert result.tried[0] == {"question": TOWNS[2], "rejected": "question_too_long"}
    assert all(TOWNS[2] not in p for p in backend.prompts)
    assert [d.question for d in result.demos] == [ARITH[0]]
