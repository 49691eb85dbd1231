"""Loading tasks: built-in lab tasks, JSONL files, and clear errors for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval.task import known_tasks, load_task


def write_lines(path: Path, records: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_builtin_lab_tasks(lab):
    qa, mc, arith = (load_task(name, lab) for name in ("lab-qa", "lab-mc", "lab-arith"))
    assert (qa.kind, qa.metrics, qa.answer_match) == ("generate", ("exact_match",), "exact")
    assert qa.chance == pytest.approx(1 / 4)  # meta.n_values is 4 for every question
    assert qa.examples[0]["aliases"] == ["copper ore"]
    assert (mc.kind, mc.metrics) == ("multiple_choice", ("acc", "acc_norm"))
    assert mc.chance == pytest.approx(1 / 4)
    assert (arith.kind, arith.answer_match, arith.chance) == ("generate", "numeric", 0.0)
    assert {e["lang"] for e in qa.examples} == {"en", "ko"}
    assert known_tasks() == ["lab-qa", "lab-mc", "lab-arith"]
    assert (qa.output_type, mc.output_type) == ("generate_until", "multiple_choice")


def test_chance_is_the_mean_over_examples(tmp_path):
    mc = load_task(str(write_lines(tmp_path / "mc.jsonl", [
        {"question": "a?", "choices": ["x", "y"], "label": 0},
        {"question": "b?", "choices": ["x", "y", "z", "w"], "label": 3},
    ])))  # fmt: skip
    assert mc.chance == pytest.approx((1 / 2 + 1 / 4) / 2)
    qa = load_task(str(write_lines(tmp_path / "qa.jsonl", [
        {"question": "a?", "answer": "x", "meta": {"n_values": 2}},
        {"question": "b?", "answer": "y", "meta": {"n_values": 10}},
    ])))  # fmt: skip
    assert qa.chance == pytest.approx((1 / 2 + 1 / 10) / 2)


def test_a_jsonl_file_is_a_task_with_its_kind_inferred(tmp_path):
    mc = load_task(str(write_lines(tmp_path / "quiz.jsonl", [
        {"question": "Sky?", "choices": ["blue", "green"], "label": 0},
    ])))  # fmt: skip
    assert (mc.name, mc.kind, mc.chance) == ("quiz", "multiple_choice", 0.5)
    assert mc.examples[0]["id"] == "0" and mc.examples[0]["lang"] == "und"
    gen = load_task(str(write_lines(tmp_path / "short.jsonl", [
        {"id": "a", "question": "Capital of Velden?", "answer": "Kamori"},
    ])))  # fmt: skip
    assert (gen.name, gen.kind, gen.answer_match) == ("short", "generate", "exact")
    sums = load_task(str(write_lines(tmp_path / "sums.jsonl", [
        {"question": "2+2?", "answer": "4"}, {"question": "3-5?", "answer": -2},
    ])))  # fmt: skip
    assert (sums.kind, sums.answer_match) == ("generate", "numeric")
    assert sums.examples[1]["answer"] == "-2"


def test_unknown_task_names_the_known_ones():
    with pytest.raises(LmforgeError, match=r"unknown task 'lab-xyz'.*lab-qa, lab-mc, lab-arith"):
        load_task("lab-xyz", None)


def test_missing_task_file(tmp_path):
    with pytest.raises(LmforgeError, match=r"nope\.jsonl does not exist"):
        load_task(str(tmp_path / "nope.jsonl"))


def test_missing_lab_dir_says_how_to_make_one(tmp_path):
    missing = tmp_path / "no-lab"
    with pytest.raises(LmforgeError, match=r"no-lab does not exist.*lmforge lab generate --out"):
        load_task("lab-qa", missing)


def test_incomplete_lab_dir(tmp_path):
    (tmp_path / "eval").mkdir()
    with pytest.raises(LmforgeError, match=r"eval/mc\.jsonl is missing.*lmforge lab generate"):
        load_task("lab-mc", tmp_path)


BAD = [
    ({"question": "q?", "choices": ["only"], "label": 0}, r"'choices' has 1 choice.*at least 2"),
    ({"question": "q?", "choices": "ab", "label": 0}, r"'choices' must be a list of strings"),
    ({"question": "q?", "choices": ["a", "b"], "label": 2}, r"'label' is 2.*from 0 to 1"),
    ({"question": "q?", "choices": ["a", "b"], "label": -1}, r"'label' is -1"),
    ({"question": "q?", "choices": ["a", "b"], "label": "a"}, r"'label' is 'a'"),
    ({"choices": ["a", "b"], "label": 0}, r"'question' is missing"),
    ({"question": "", "answer": "x"}, r"'question' is ''"),
    ({"question": "q?", "answer": ""}, r"'answer' is ''"),
    ({"question": "q?", "answer": "x", "aliases": "y"}, r"'aliases' must be a list"),
]


@pytest.mark.parametrize(("record", "message"), BAD)
def test_bad_records_name_file_line_and_field(tmp_path, record, message):
    good = dict(record)
    good.update({"question": "fine?"})
    if "choices" in record:
        good.update({"choices": ["a", "b"], "label": 1})
    else:
        good.update({"answer": "x", "aliases": []})
    path = write_lines(tmp_path / "bad.jsonl", [good, "", record])
    with pytest.raises(LmforgeError, match=rf"bad\.jsonl:3: (field )?{message}"):
        load_task(str(path))


def test_a_record_with_neither_answer_nor_choices(tmp_path):
    path = write_lines(tmp_path / "what.jsonl", [{"question": "q?", "reply": "x"}])
    with pytest.raises(LmforgeError, match=r"what\.jsonl:1: .*'choices' \+ 'label'.*'answer'"):
        load_task(str(path))


def test_bad_record_in_a_lab_task(tmp_path):
    (tmp_path / "eval").mkdir()
    write_lines(tmp_path / "eval" / "mc.jsonl", [
        {"id": "m1", "lang": "en", "question": "q?", "choices": ["a", "b", "c", "d"], "label": 4},
    ])  # fmt: skip
    with pytest.raises(LmforgeError, match=r"eval/mc\.jsonl:1: field 'label' is 4.*0 to 3"):
        load_task("lab-mc", tmp_path)


def test_invalid_json_names_the_line(tmp_path):
    path = write_lines(tmp_path / "broken.jsonl", [{"question": "q?", "answer": "a"}, "{nope"])
    with pytest.raises(LmforgeError, match=r"broken\.jsonl:2: not valid JSON"):
        load_task(str(path))


def test_real_lab_world_tasks_load(real_lab):
    for name in known_tasks():
        task = load_task(name, real_lab)
        assert len(task) > 0
        assert 0 <= task.chance < 1
    assert load_task("lab-mc", real_lab).chance == pytest.approx(1 / 4)
