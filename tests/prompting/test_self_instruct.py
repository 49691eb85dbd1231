"""Self-Instruct with the scripted backend: exact prompts, every filter, ROUGE-L by hand."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lmforge.cli import app
from lmforge.infer.backends import ScriptedBackend
from lmforge.prompting.rouge import lcs_length, rouge_l
from lmforge.prompting.self_instruct import (
    SelfInstructConfig,
    instance_prompt,
    run_self_instruct,
    self_instruct,
)

SEEDS = [
    {"instruction": "Write a short poem about the sea.", "input": "", "output": "Waves."},
    {"instruction": "Add the two numbers given.", "input": "2 and 3", "output": "5"},
]
LONG = "List " + " ".join(["many"] * 20) + " things."
INSTRUCTION_REPLIES = [
    " Translate the sentence into French.\nTask 4: Draw a picture of a cat.\nTask 5: Hi\n"
    "Task 6: Write a short poem about the ocean.\nTask 7: ?!?",
    f" Translate the sentence into French please.\nTask 4: {LONG}",
    " Name three colors of the rainbow.",
]
INSTANCE_REPLIES = [
    " I like tea.\nOutput: J'aime le thé.\nTask: next",
    " <noinput>\nOutput: Red, orange, yellow.",
]


def test_rouge_l_matches_hand_computed_values():
    assert lcs_length(["a", "b", "c", "d"], ["b", "d", "e"]) == 2
    # LCS 5 of 6 and 5 words: P = 5/6, R = 1, F = 10/11
    assert rouge_l("the cat sat on the mat", "the cat on the mat") == pytest.approx(10 / 11)
    assert rouge_l("a b c d", "b d e") == pytest.approx(4 / 7)  # P 1/2, R 2/3
    assert rouge_l("Write A Poem", "write a poem.") == 1.0
    assert rouge_l("one two", "three four") == 0.0 and rouge_l("", "a") == 0.0


def scripted():
    return ScriptedBackend(INSTRUCTION_REPLIES + INSTANCE_REPLIES)


def test_filters_dedup_and_records():
    backend = scripted()
    config = SelfInstructConfig(shots=2, instance_shots=1, max_words=12)
    result = self_instruct(backend, SEEDS, n=2, config=config)
    report = result.report
    assert report["calls"] == 3 and report["generated"] == 8 and report["kept"] == 2
    assert {k: v["count"] for k, v in report["dropped"].items()} == {
        "banned_keyword": 1, "too_short": 1, "similar": 2, "unparsed": 1, "too_long": 1,
    }  # fmt: skip
    assert report["dropped"]["similar"]["examples"] == [
        "Write a short poem about the ocean.",  # 6/7 with a seed
        "Translate the sentence into French please.",  # 10/11 with a new one
    ]
    pairs = [[m["content"] for m in r["messages"]] for r in result.records]
    assert pairs == [
        ["Translate the sentence into French.\n\nI like tea.", "J'aime le thé."],
        ["Name three colors of the rainbow.", "Red, orange, yellow."],  # <noinput>: no input
    ]
    assert [m["role"] for m in result.records[0]["messages"]] == ["user", "assistant"]
    first = backend.prompts[0]
    assert first.startswith("Come up with a series of tasks:\nTask 1: ") and first.endswith(
        "\nTask 3:"
    )
    assert sorted(line.split(": ", 1)[1] for line in first.splitlines()[1:3]) == sorted(
        s["instruction"] for s in SEEDS
    )
    assert backend.prompts[3] in [instance_prompt("Translate the sentence into French.", [s])
                                  for s in SEEDS]  # fmt: skip
    assert [c.options["seed"] for c in backend.calls] == [0, 1, 2, 100000, 100001]


def test_instance_prompt_and_unparsed_instance():
    assert instance_prompt("Say hi.", SEEDS[1:]) == (
        "Come up with an input and an output for the last task. If the task needs no input, "
        "write <noinput>.\n\nTask: Add the two numbers given.\nInput: 2 and 3\nOutput: 5\n\n"
        "Task: Say hi.\nInput:"
    )
    backend = ScriptedBackend([" Say hello to the reader.", " no output marker"])
    result = self_instruct(backend, SEEDS, n=1)
    assert result.records == [] and result.report["kept"] == 1
    assert result.report["dropped"] == {
        "unparsed_instance": {"count": 1, "examples": ["Say hello to the reader."]}
    }


def test_writes_data_report_and_manifest(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    config = SelfInstructConfig(shots=2, instance_shots=1, max_words=12)
    out = tmp_path / "si"
    run_self_instruct("scripted", seeds, out, n=2, config=config, backend=scripted())
    assert len((out / "data.jsonl").read_text().splitlines()) == 2
    assert json.loads((out / "report.json").read_text())["kept"] == 2
    assert json.loads((out / "lmforge.json").read_text())["kind"] == "self-instruct"
    help_text = CliRunner().invoke(app, ["prompt", "self-instruct", "--help"]).output
    assert "--seed-tasks" in help_text
