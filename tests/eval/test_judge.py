"""LLM-as-judge: G-Eval's exact prompts and scores, pairwise position swap, agreement with
gold labels, bad input; the scripted backend stands in for the judge's replies, and a tiny
local model judges for real by log-likelihood."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from scipy.stats import kendalltau, spearmanr

from lmforge.errors import LmforgeError
from lmforge.eval.judge import BUILTIN, GEval, judge_answers
from lmforge.eval.judge.agreement import _kendall_tau_b, _spearman, kendall_tau_b, spearman
from lmforge.eval.judge.prompts import Criterion, pair_prompt, steps_prompt
from lmforge.infer.backends import ScriptedBackend
from lmforge.infer.backends.base import Backend, Completion
from lmforge.infer.backends.local import LocalBackend
from lmforge.jsonl import read_jsonl, write_jsonl
from support import run_cli

INTRO = (
    "You will be given one answer written for a question.\n\n"
    "Your task is to rate the answer on one metric.\n\n"
    "Please make sure you read and understand these instructions carefully.\n\n"
)
ITEMS = [
    {"id": "q1", "question": "What does Kamori export?", "answer": "Copper.",
     "context": "Kamori exports copper."},
    {"id": "q2", "question": "Where is Tessa?", "answer": "In Velden, mostly.",
     "context": "Tessa lies in Velden."},
    {"id": "q3", "question": "Who founded Orlen?", "answer": "Nobody knows.",
     "context": "Orlen was founded by fishers."},
    {"id": "q4", "question": "What is 2 + 3?", "answer": "5", "context": "2 + 3 = 5."},
]  # fmt: skip
PROBS = {"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.25, "5": 0.15}


class Weighted(Backend):
    """A judge whose likelihood of each score token is fixed: half its mass on the five."""

    capabilities = frozenset({"completion", "chat", "loglikelihood"})

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def render(self, prompt):
        return prompt if isinstance(prompt, str) else f"USER: {prompt[0]['content']}\nJUDGE:\n"

    def _generate(self, prompt, options):
        return Completion("1. Read.")  # its evaluation steps

    def _loglikelihoods(self, requests):
        self.requests.extend(requests)
        return [math.log(0.5 * PROBS[continuation.strip()]) for _, continuation in requests]


def answers_file(tmp_path: Path, items: list[dict]) -> Path:
    write_jsonl(tmp_path / "answers.jsonl", items)
    return tmp_path / "answers.jsonl"


def test_geval_prompts_are_exact_and_steps_are_written_once(tmp_path):
    coherence = BUILTIN["coherence"]
    backend = ScriptedBackend(["1. Read it.\n2. Rate it.", "4", "3", "5", "2"],
                              capabilities={"completion"})  # fmt: skip
    answers = answers_file(tmp_path, ITEMS)
    summary = judge_answers("scripted", answers, tmp_path / "out", ["coherence"], samples=1,
                            backend=backend, show_progress=False)  # fmt: skip
    criteria = f"Evaluation Criteria:\n\nCoherence (1-5) - {coherence.definition}\n\n"
    assert (
        backend.prompts[0]
        == steps_prompt(coherence)
        == (
            f"{INTRO}{criteria}Write the evaluation steps a careful rater follows for this "
            "criterion, as a numbered list.\n\nEvaluation Steps:\n"
        )
    )
    assert backend.prompts[1] == (
        f"{INTRO}{criteria}Evaluation Steps:\n\n1. Read it.\n2. Rate it.\n\nExample:\n\n"
        "Question:\n\nWhat does Kamori export?\n\nContext:\n\nKamori exports copper.\n\n"
        "Answer:\n\nCopper.\n\nEvaluation Form (scores ONLY):\n\n- Coherence:"
    )
    assert len(backend.prompts) == 1 + len(ITEMS)  # the steps once, then one call per item
    assert backend.calls[1].options["temperature"] == 0.0  # one sample: greedy
    judged = read_jsonl(tmp_path / "out" / "judgments.jsonl")
    assert [j["scores"]["coherence"] for j in judged] == [4.0, 3.0, 5.0, 2.0]
    assert judged[0]["judgments"]["coherence"]["prompt"] == backend.prompts[1]
    steps = json.loads((tmp_path / "out" / "steps.json").read_text())
    written = "1. Read it.\n2. Rate it."
    assert steps == [{"criterion": "coherence", "definition": coherence.definition,
                      "steps": written, "generated": True, "prompt": backend.prompts[0],
                      "reply": written}]  # fmt: skip
    assert summary["scores"]["coherence"]["mean"] == 3.5 and summary["scoring"] == "generate"


def test_unparsed_replies_are_counted_never_scored(tmp_path):
    replies = ["steps", "4", "Score: 2", "great", "9", "none", "n/a", "3.5", "five"]
    backend = ScriptedBackend(replies, capabilities={"completion"})
    summary = judge_answers("scripted", answers_file(tmp_path, ITEMS), tmp_path / "out",
                            ["fluency"], samples=2, seed=7, backend=backend,
                            show_progress=False)  # fmt: skip
    assert backend.calls[1].options | {"prompt": None} == {
        "temperature": 1.0, "top_p": 1.0, "max_tokens": 16, "stop": None, "seed": 7, "n": 2,
        "tools": None, "prompt": None,
    }  # fmt: skip
    judged = {j["id"]: j for j in read_jsonl(tmp_path / "out" / "judgments.jsonl")}
    assert judged["q1"]["scores"]["fluency"] == 3.0  # mean of 4 and 2
    assert judged["q2"]["scores"]["fluency"] is None  # "great", "9": nothing to average
    assert judged["q2"]["unparsed"]["fluency"] is True
    assert judged["q2"]["judgments"]["fluency"]["parsed"] == [None, None]
    assert judged["q4"]["scores"]["fluency"] == 3.5  # "3.5" and "five"
    fluency = summary["scores"]["fluency"]
    assert (fluency["scored"], fluency["unparsed"], fluency["unparsed_replies"]) == (2, 2, 5)
    assert fluency["mean"] == pytest.approx((3.0 + 3.5) / 2)


def test_logprob_score_is_the_probability_weighted_mean(tmp_path):
    backend = Weighted()
    criterion = BUILTIN["relevance"]
    judge = GEval(backend, mode="completion", scoring="logprobs")
    judgment = judge.score(criterion, "1. Read.", ITEMS[0])
    prompt = judgment["prompt"]
    assert prompt.endswith("- Relevance:")
    assert backend.requests == [(prompt, f" {s}") for s in "12345"]
    assert judgment["score"] == pytest.approx(1 * 0.1 + 2 * 0.2 + 3 * 0.3 + 4 * 0.25 + 5 * 0.15)
    assert judgment["probabilities"] == pytest.approx(PROBS)
    assert judgment["score_mass"] == pytest.approx(0.5)
    # chat: the context is the rendered turn; after a newline the score follows directly
    backend.requests.clear()
    chat = GEval(backend, mode="chat", scoring="logprobs").score(criterion, "1. Read.", ITEMS[0])
    assert chat["prompt"] == [{"role": "user", "content": prompt}]
    assert chat["rendered"] == f"USER: {prompt}\nJUDGE:\n"
    assert backend.requests == [(chat["rendered"], s) for s in "12345"]
    assert chat["score"] == pytest.approx(judgment["score"])
    # auto picks log-likelihood scoring when the backend has it
    answers = answers_file(tmp_path, ITEMS)
    summary = judge_answers("x", answers, tmp_path / "out", ["relevance"], steps_max_tokens=4,
                            backend=Weighted(), show_progress=False)  # fmt: skip
    assert summary["scoring"] == "logprobs"
    assert summary["scores"]["relevance"]["mean"] == pytest.approx(3.15)


def pair_reply(prompt, options) -> str:
    """Prefers Paris wherever it is shown; otherwise always the first answer (position bias)."""
    if "Unclear?" in prompt:
        return "Both are fine, I cannot decide."
    if "Contradict?" in prompt:
        return "[[A]]... on reflection [[B]]"
    for label in "AB":
        if f"[The Start of Assistant {label}'s Answer]\nParis\n" in prompt:
            return f"Paris is the capital. [[{label}]]"
    return "The first one. [[A]]"


PAIRS = [
    {"id": "p1", "question": "Capital of France?", "answer_a": "Paris", "answer_b": "Rome"},
    {"id": "p2", "question": "Capital of France?", "answer_a": "Lyon", "answer_b": "Paris"},
    {"id": "p3", "question": "Best fish?", "answer_a": "Cod", "answer_b": "Eel"},
    {"id": "p4", "question": "Unclear?", "answer_a": "x", "answer_b": "y"},
    {"id": "p5", "question": "Contradict?", "answer_a": "x", "answer_b": "y"},
]


def test_pairwise_swaps_positions_and_ties_inconsistent_verdicts(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, [{"id": "p1", "winner": "A"}, {"id": "p2", "winner": "b"},
                       {"id": "p3", "winner": "A"}, {"id": "p4", "winner": "tie"}])  # fmt: skip
    backend = ScriptedBackend(pair_reply, capabilities={"completion"})
    summary = judge_answers("scripted", answers_file(tmp_path, PAIRS), tmp_path / "out",
                            gold=gold, backend=backend, show_progress=False)  # fmt: skip
    assert backend.prompts[0] == pair_prompt([], PAIRS[0], "Paris", "Rome")
    assert backend.prompts[0].startswith("Please act as an impartial judge")
    assert (
        "[The Start of Assistant A's Answer]\nRome\n[The End of Assistant A's Answer]"
        in (backend.prompts[1])
    )  # the swapped order
    judged = {j["id"]: j for j in read_jsonl(tmp_path / "out" / "judgments.jsonl")}
    assert judged["p1"]["verdict"] == "A" and judged["p1"]["consistent"] is True
    assert judged["p2"]["verdict"] == "B"
    assert [o["shown_verdict"] for o in judged["p3"]["orders"]] == ["A", "A"]
    assert judged["p3"]["verdict"] == "tie" and judged["p3"]["consistent"] is False
    assert judged["p4"]["verdict"] is None and judged["p4"]["unparsed"] is True
    assert judged["p5"]["verdict"] is None  # two different verdicts in one reply
    assert {k: summary[k] for k in ("n", "judged", "unparsed", "wins_a", "wins_b", "ties",
                                    "inconsistent")} == {
        "n": 5, "judged": 3, "unparsed": 2, "wins_a": 1, "wins_b": 1, "ties": 1,
        "inconsistent": 1,
    }  # fmt: skip
    assert summary["win_rate_a"] == pytest.approx(1 / 3)
    assert summary["first_position_rate"] == pytest.approx(4 / 6)  # p1, p2 split; p3 biased
    assert summary["agreement"] == {"n": 3, "unparsed": 1, "not_judged": 0,
                                    "accuracy": pytest.approx(2 / 3), "n_without_ties": 2,
                                    "accuracy_without_ties": 1.0}  # fmt: skip


def test_pairwise_by_loglikelihood(tmp_path):
    def logliks(context: str, continuation: str) -> float:
        shown_first = context.index("Answer]\n") + len("Answer]\n")
        better = "A" if context[shown_first:].startswith("Paris") else "B"
        return -0.1 if continuation == better else -3.0

    backend = ScriptedBackend(logliks=logliks, capabilities={"completion", "loglikelihood"})
    judge_answers("scripted", answers_file(tmp_path, PAIRS[:2]), tmp_path / "out",
                  backend=backend, show_progress=False)  # fmt: skip
    judged = read_jsonl(tmp_path / "out" / "judgments.jsonl")
    assert [j["verdict"] for j in judged] == ["A", "B"]
    context, _ = backend.calls[0].prompt[0]
    assert context.endswith("[The End of Assistant B's Answer]\n\nFinal verdict: [[")
    assert [c for _, c in backend.calls[0].prompt] == ["A", "B", "C"]
    assert sum(judged[0]["orders"][0]["probabilities"].values()) == pytest.approx(1.0)


def test_agreement_statistics_match_scipy():
    x = [1, 2, 2, 3, 5, 4, 4, 1]
    y = [2, 1, 2, 4, 5, 5, 3, 1]
    assert _spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert _kendall_tau_b(x, y) == pytest.approx(kendalltau(x, y, variant="b").statistic)
    assert spearman(x, y) == pytest.approx(_spearman(x, y))
    assert kendall_tau_b(x, y) == pytest.approx(_kendall_tau_b(x, y))
    for constant in ([3, 3, 3], [1.0]):
        assert spearman(constant, constant[::-1]) is None
        assert _spearman(constant, constant) is None and _kendall_tau_b(constant, constant) is None


def test_gold_scores_give_spearman_and_kendall(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, [{"id": "q1", "coherence": 5}, {"id": "q2", "scores": {"coherence": 2}},
                       {"id": "q3", "coherence": 3}, {"id": "q4", "coherence": 4}])  # fmt: skip
    backend = ScriptedBackend(["steps", "4", "1", "3", "excellent"], capabilities={"completion"})
    summary = judge_answers("scripted", answers_file(tmp_path, ITEMS), tmp_path / "out",
                            ["coherence"], gold, samples=1, backend=backend,
                            show_progress=False)  # fmt: skip
    found = summary["agreement"]["coherence"]
    assert (found["n"], found["unparsed"], found["not_judged"]) == (3, 1, 0)  # q4 unparsed
    assert found["spearman"] == pytest.approx(spearmanr([4, 1, 3], [5, 2, 3]).statistic)
    assert found["kendall_tau_b"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("items", "criteria", "message"),
    [
        ([ITEMS[0], {"id": "x", "question": "Q?"}], ["coherence"],
         r"answers.jsonl:2: field 'answer' is missing"),
        ([ITEMS[0], PAIRS[0]], ["coherence"], r"answers.jsonl:2: field 'answer' is missing"),
        ([PAIRS[0], ITEMS[0]], None, r"answers.jsonl:2: field 'answer_a' is missing"),
        ([{"question": "Q?", "answer": "A"}], ["faithfulness"], r"item '0' has no context"),
        ([ITEMS[0]], ["coherence", "wit"], r"unknown criterion 'wit'"),
        ([ITEMS[0], ITEMS[0]], ["coherence"], r"answers.jsonl:2: id 'q1' is used twice"),
        ([{**ITEMS[0], "answer": 3}], ["coherence"], r"field 'answer' is 3, not text"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_judging(tmp_path, items, criteria, message):
    backend = ScriptedBackend(["4"] * 10)
    with pytest.raises(LmforgeError, match=message):
        judge_answers("scripted", answers_file(tmp_path, items), tmp_path / "out", criteria,
                      backend=backend, show_progress=False)  # fmt: skip
    assert backend.calls == [] and not (tmp_path / "out").exists()


def test_bad_gold_and_impossible_scoring_are_refused(tmp_path):
    answers = answers_file(tmp_path, ITEMS)
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, [{"id": "q9", "coherence": 3}])
    with pytest.raises(LmforgeError, match=r"id 'q9'.* is not among the answers"):
        judge_answers("scripted", answers, tmp_path / "o1", ["coherence"], gold,
                      backend=ScriptedBackend(), show_progress=False)  # fmt: skip
    write_jsonl(gold, [{"id": "q1", "coherence": "good"}])
    with pytest.raises(LmforgeError, match="the score for coherence is 'good', not a number"):
        judge_answers("scripted", answers, tmp_path / "o2", ["coherence"], gold,
                      backend=ScriptedBackend(), show_progress=False)  # fmt: skip
    no_logliks = ScriptedBackend(["steps"], capabilities={"completion"})
    with pytest.raises(LmforgeError, match="does not support loglikelihood"):
        judge_answers("scripted", answers, tmp_path / "o3", ["coherence"], scoring="logprobs",
                      backend=no_logliks, show_progress=False)  # fmt: skip
    assert no_logliks.calls == []


def test_custom_criteria_file_with_given_steps(tmp_path):
    spec = tmp_path / "criteria.yaml"
    spec.write_text(
        "grounded:\n  definition: Every fact comes from the context.\n"
        "  steps: [Read the context., Check each fact.]\n  needs: [context]\n"
        "brevity: Short and to the point.\n",
        encoding="utf-8",
    )
    backend = ScriptedBackend(["brevity steps"] + ["5"] * 8, capabilities={"completion"})
    answers = answers_file(tmp_path, ITEMS)
    summary = judge_answers("scripted", answers, tmp_path / "out", [str(spec)], samples=1,
                            backend=backend, show_progress=False)  # fmt: skip
    assert summary["criteria"] == ["grounded", "brevity"]
    # only brevity's steps are written by the judge; grounded's come from the file
    assert backend.prompts[0] == steps_prompt(Criterion("brevity", "Short and to the point."))
    assert (
        "Grounded (1-5) - Every fact comes from the context.\n\nEvaluation Steps:\n\n"
        "1. Read the context.\n2. Check each fact.\n\nExample:"
    ) in backend.prompts[1]
    steps = json.loads((tmp_path / "out" / "steps.json").read_text())
    assert [s["generated"] for s in steps] == [False, True]
    bad = tmp_path / "bad.yaml"
    bad.write_text("tone:\n  defintion: polite\n", encoding="utf-8")
    with pytest.raises(LmforgeError, match="criterion 'tone' has no 'definition'"):
        judge_answers("scripted", answers_file(tmp_path, ITEMS), tmp_path / "o2", [str(bad)],
                      backend=ScriptedBackend(), show_progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def long_judge(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with a 1024-token window (rotary positions: no weight depends on it)."""
    out = tmp_path_factory.mktemp("judge") / "tiny-1k"
    shutil.copytree(tiny_model_dir, out)
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(config | {"max_position_embeddings": 1024}))
    return out


def test_a_prompt_longer_than_the_window_is_refused_up_front(tiny_model_dir, tmp_path):
    with pytest.raises(LmforgeError, match=r"item 'q1', criterion fluency takes \d+ tokens.*"
                       r"context of 256 tokens"):  # fmt: skip
        judge_answers(str(tiny_model_dir), answers_file(tmp_path, ITEMS), tmp_path / "out",
                      ["fluency"], show_progress=False)  # fmt: skip
    assert not (tmp_path / "out" / "steps.json").exists()  # no steps were written


def test_a_tiny_local_model_judges_by_loglikelihood(long_judge, tmp_path, capsys):
    tiny_model_dir = long_judge
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, [{"id": i["id"], "fluency": n} for n, i in enumerate(ITEMS, 1)])
    out = tmp_path / "judged"
    code, printed = run_cli(
        capsys, "eval", "judge", "--judge", str(tiny_model_dir), "--answers",
        str(answers_file(tmp_path, ITEMS)), "--out", str(out), "--criteria", "fluency",
        "--gold", str(gold),
    )  # fmt: skip
    assert code == 0, printed
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["mode"], summary["scoring"]) == ("completion", "logprobs")
    local = LocalBackend(tiny_model_dir)
    for judged in read_jsonl(out / "judgments.jsonl"):
        detail = judged["judgments"]["fluency"]
        logliks = local.loglikelihoods([(detail["prompt"], f" {s}") for s in "12345"])
        assert [detail["logliks"][s] for s in "12345"] == pytest.approx(logliks, abs=1e-4)
        weights = [math.exp(v) for v in logliks]
        expected = sum(w * s for w, s in zip(weights, range(1, 6), strict=True)) / sum(weights)
        assert judged["scores"]["fluency"] == pytest.approx(expected, abs=1e-4)
        assert 1 < judged["scores"]["fluency"] < 5  # an untrained model spreads its mass
    steps = json.loads((out / "steps.json").read_text())[0]
    assert steps["generated"] and steps["prompt"] == steps_prompt(BUILTIN["fluency"])
    assert f"Evaluation Steps:\n\n{steps['steps']}\n\nExample:" in detail["prompt"]
    agreement = summary["agreement"]["fluency"]
    assert agreement["n"] == len(ITEMS) and agreement["spearman"] is not None
