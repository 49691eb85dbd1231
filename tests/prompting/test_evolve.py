"""Promptbreeder: evolution on a scripted fitness landscape, budget, elitism, determinism, CLI.

The landscape: question i is answered right when the instruction holds the word
MAGIC[i % 4]; a mutation appends one word, chosen by the call's seed, to the text it is asked
to change. So fitness rises only by accumulating the right words through mutation.
"""

from __future__ import annotations

import json

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval.task import task_from_file
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.prompting.evolve import EvolveConfig, evolve
from lmforge.runs import read_manifest
from support import run_cli, single_thread

MAGIC = ["carefully", "exactly", "briefly", "precisely"]
WORDS = [*MAGIC, "slowly", "quickly", "happily", "loudly"]
DESCRIPTION = "Answer the question."


def mutated(prompt: str, options: dict) -> str:
    word = WORDS[options["seed"] % len(WORDS)]
    if prompt.endswith("1."):  # zero-order: the hint list of the description
        return f" Say {word}\n2. more"
    text = prompt.rsplit("INSTRUCTION: ", 1)[1].split("\nINSTRUCTION MUTANT:")[0]
    return f"{text} {word}"


def answer(prompt: str) -> str:
    instruction, question = prompt.split("\n\nQuestion: ")
    i = int(question.split("item ")[1].split("?")[0])
    return f"a{i}" if MAGIC[i % 4] in instruction else "wrong"


def landscape(prompt, options) -> str:
    if "INSTRUCTION MUTANT:" in prompt or prompt.endswith("1."):
        return mutated(prompt, options)
    return answer(prompt)


@pytest.fixture
def task(tmp_path):
    path = tmp_path / "items.jsonl"
    write_jsonl(path, [{"question": f"What is the code of item {i}?", "answer": f"a{i}"}
                       for i in range(16)])  # fmt: skip
    return task_from_file(path)


def config(**changes) -> EvolveConfig:
    settings = dict(population=6, generations=6, budget=300, dev_size=8, mode="completion",
                    description=DESCRIPTION, seed=0)  # fmt: skip
    return EvolveConfig(**settings | changes)


def test_evolution_finds_a_better_prompt_and_never_loses_the_best(task):
    backend = ScriptedBackend(landscape)
    result = evolve(backend, task, config(generations=15, budget=800))
    assert result.start.fitness <= 0.5  # a start prompt holds one magic word
    assert result.best.fitness > result.start.fitness and result.best.fitness >= 0.75
    found = [w for w in MAGIC if w in result.best.task_prompt]
    assert result.best.fitness == pytest.approx(
        sum(MAGIC[int(i) % 4] in found for i in result.dev_ids) / len(result.dev_ids)
    )
    bests = [record["best_fitness"] for record in result.history]
    assert bests == sorted(bests) and bests[-1] == result.best.fitness
    for before, after in zip(result.history, result.history[1:], strict=False):
        best = next(u for u in before["units"] if u["id"] == before["best"])
        assert best["id"] in {u["id"] for u in after["units"]}  # the elite survives
    operators = {u["operator"] for r in result.history for u in r["units"]}
    assert {"init", "first-order", "hyper", "zero-order"} <= operators


def test_history_records_the_exact_mutation_prompts(task):
    result = evolve(ScriptedBackend(landscape), task, config(generations=2))
    units = [u for r in result.history[1:] for u in r["units"] if u["born"] == r["generation"]]
    assert units and all(u["parent"] is not None and u["replaced"] is not None for u in units)
    by_id = {u["id"]: u for r in result.history for u in r["units"]}
    for unit in units:
        parent = by_id[unit["parent"]]
        if unit["operator"] == "first-order":
            assert unit["sent"] == [
                f"{parent['mutation_prompt']}\nINSTRUCTION: {parent['task_prompt']}"
                "\nINSTRUCTION MUTANT:"
            ]
        if unit["operator"] == "hyper":
            assert len(unit["sent"]) == 2 and unit["sent"][1].startswith(unit["mutation_prompt"])
        if unit["operator"] == "crossover":
            assert unit["sent"] == [] and unit["task_prompt"] == by_id[unit["donor"]]["task_prompt"]


@pytest.mark.parametrize("budget", [6 * 9 + 10, 90, 150, 300])
def test_the_budget_is_never_exceeded(task, budget):
    backend = ScriptedBackend(landscape)
    result = evolve(backend, task, config(budget=budget, generations=200))
    assert result.calls == len(backend.calls) <= budget
    assert result.history[-1]["calls"] == result.calls
    assert result.stopped == "budget" and budget - result.calls < 2 + 8


def test_same_seed_same_history_and_another_seed_differs(task):
    first = evolve(ScriptedBackend(landscape), task, config())
    again = evolve(ScriptedBackend(landscape), task, config())
    other = evolve(ScriptedBackend(landscape), task, config(seed=1))
    assert json.dumps(first.history) == json.dumps(again.history)
    assert json.dumps(first.history) != json.dumps(other.history)


def test_empty_and_too_long_replies_are_rejected_and_the_parent_kept(task):
    def replies(prompt, options):
        if prompt.endswith("1."):
            return "   "  # zero-order: empty
        if prompt.startswith(("Please summarize", "Rewrite the", "Improve the")):
            return "x" * 1000  # hyper-mutation: far too long
        return landscape(prompt, options)

    result = evolve(ScriptedBackend(replies), task, config(crossover=0.0, max_chars=300))
    by_id = {u["id"]: u for r in result.history for u in r["units"]}
    seen = set()
    for unit in by_id.values():
        parent = by_id.get(unit["parent"])
        if unit["operator"] == "zero-order":
            assert unit["rejected"] == "task prompt: empty reply"
            assert unit["task_prompt"] == parent["task_prompt"]
            assert unit["fitness"] == parent["fitness"]
        if unit["operator"] == "hyper":
            assert unit["rejected"] == "mutation prompt: too long: 1000 characters > 300"
            assert unit["mutation_prompt"] == parent["mutation_prompt"]
            assert unit["task_prompt"] != parent["task_prompt"]  # the old one still mutated it
        seen.add(unit["operator"])
    assert {"zero-order", "hyper"} <= seen


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"population": 1}, "population 1 is too small"),
        ({"budget": 6 * 9 + 9}, "Raise --budget to at least 64"),
        ({"dev_size": 17}, "dev size 17 is more than the 16 examples"),
        ({"generations": 0}, "generations and dev size must be at least 1"),
    ],
)
def test_bad_options_are_refused_before_any_call(task, changes, message):
    backend = ScriptedBackend(landscape)
    with pytest.raises(LmforgeError, match=message):
        evolve(backend, task, config(**changes))
    assert backend.calls == []


def test_cli_evolves_a_tiny_model_on_the_tiny_lab(tmp_path, tiny_model_dir, tiny_lab, capsys):
    out = tmp_path / "evolve"
    with single_thread():
        code, printed = run_cli(
            capsys, "prompt", "evolve", "--model", str(tiny_model_dir), "--task", "lab-qa",
            "--data", str(tiny_lab), "--population", "2", "--generations", "1",
            "--dev-size", "2", "--budget", "10", "--seed", "0", "--out", str(out),
        )  # fmt: skip
    assert code == 0, printed
    summary = json.loads((out / "evolve.json").read_text())
    history = read_jsonl(out / "history.jsonl")
    assert summary["calls"] <= 10 and summary["task"] == "lab-qa"
    assert [r["generation"] for r in history] == [0, 1]
    assert all(len(u["correct"]) == 2 for r in history for u in r["units"])
    assert summary["best_fitness"] >= summary["start_fitness"]
    assert read_manifest(out)["kind"] == "prompt-evolve"
    assert "best prompt" in printed and summary["best"]["task_prompt"] in printed
