"""Tasks as YAML: the spec, its errors, few-shot prompts, extraction, demos/SFT and `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval import evaluate
from lmforge.eval.fewshot import fewshot_for, score_generation, set_shots, task_info, task_prompt
from lmforge.eval.task import load_task
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.prompting.templates import Demo
from lmforge.runs import read_manifest
from support import run_cli

CAPS = """\
name: caps
data: {train: train.jsonl, test: test.jsonl}
output_type: multiple_choice
prompt: "Q: {{ q }}\\nA:"
choices: options
target: gold
fewshot: {k: 2, seed: 7}
"""


def write_yaml(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def caps(tmp_path) -> Path:
    write_jsonl(tmp_path / "test.jsonl", [
        {"id": "t0", "q": "Capital of Velden?", "options": ["Kamori", "Tessa", "Orlen"],
         "gold": "Kamori"},
        {"id": "t1", "q": "벨덴의 수도는?", "options": ["카모리", "테사"], "gold": 1, "lang": "ko"},
    ])  # fmt: skip
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": f"d{i}", "q": f"Capital of {town}?", "options": ["x", "y"], "gold": str(i % 2)}
        for i, town in enumerate("ABCDE")
    ])  # fmt: skip
    return Path(write_yaml(tmp_path / "caps.yaml", CAPS))


def test_a_yaml_multiple_choice_task(caps):
    task = load_task(str(caps))
    assert (task.name, task.kind, task.metrics, task.fewshot_split) == (
        "caps",
        "multiple_choice",
        ("acc", "acc_norm"),
        "train",
    )
    first, second = task.examples
    assert (first["choices"], first["label"], first["lang"]) == (
        ["Kamori", "Tessa", "Orlen"],
        0,
        "und",
    )
    assert (second["label"], second["lang"], second["context"]) == (
        1,
        "ko",
        "Q: 벨덴의 수도는?\nA:",
    )
    assert task.chance == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert [d["label"] for d in task.fewshot] == [0, 1, 0, 1, 0]  # "0"/"1" are indices
    assert (task.shots, task.fewshot_seed) == (2, 7)


def test_the_task_hash_covers_the_yaml_and_the_data(caps):
    before = load_task(str(caps)).hash
    assert load_task(str(caps)).hash == before
    with (caps.parent / "train.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"q": "Capital of F?", "options": ["x", "y"], "gold": 0}) + "\n")
    assert load_task(str(caps)).hash != before


def test_few_shot_prompts_are_seeded_and_delimited(caps):
    task = load_task(str(caps))
    set_shots(task)
    prompt = task_prompt(task, task.examples[0], chat=False, tokenizer=None)
    demos = fewshot_for(task, task.examples[0])
    expected = "".join(f"{d['context']} {d['choices'][d['label']]}\n\n" for d in demos)
    assert prompt == expected + "Q: Capital of Velden?\nA:"
    assert len(demos) == 2 and prompt.count("Q: ") == 3
    assert fewshot_for(task, task.examples[0]) == demos  # same seed, same demonstrations
    draws = set()
    for seed in range(8):
        set_shots(task, 2, seed)
        draws.add(tuple(d["id"] for d in fewshot_for(task, task.examples[0])))
    assert len(draws) > 1  # the seed decides
    set_shots(task, 0)
    assert task_prompt(task, task.examples[0], False, None) == "Q: Capital of Velden?\nA:"
    with pytest.raises(LmforgeError, match=r"6 shots asked for task caps.*\(train\) has 5"):
        set_shots(task, 6)


def test_without_a_train_split_an_example_is_never_its_own_demo(tmp_path):
    write_jsonl(tmp_path / "qa.jsonl", [
        {"id": str(i), "question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(4)
    ])  # fmt: skip
    task = load_task(write_yaml(tmp_path / "qa.yaml", "data: qa.jsonl\nfewshot: {k: 3}\n"))
    assert task.fewshot is None and task.fewshot_split == "test"
    set_shots(task)
    for example in task.examples:
        assert example["id"] not in {d["id"] for d in fewshot_for(task, example)}
    with pytest.raises(LmforgeError, match=r"has 3 demonstrations"):
        set_shots(task, 4)
    with pytest.raises(LmforgeError, match="no training split"):
        task.to_sft(tmp_path / "sft.jsonl")


def test_chat_prompts_put_each_demo_in_its_own_turns(caps, tokenizer_dir):
    from lmforge.models.io import load_tokenizer

    task = load_task(str(caps))
    set_shots(task, 1)
    turns = task_prompt(task, task.examples[1], chat=True, tokenizer=None, messages=True)
    demo = fewshot_for(task, task.examples[1])[0]
    assert turns == [
        {"role": "user", "content": demo["context"]},
        {"role": "assistant", "content": demo["choices"][demo["label"]]},
        {"role": "user", "content": "Q: 벨덴의 수도는?\nA:"},
    ]
    text = task_prompt(task, task.examples[1], chat=True, tokenizer=load_tokenizer(tokenizer_dir))
    assert text.count("<|im_start|>user") == 2 and text.endswith("<|im_start|>assistant:")


def test_demos_and_sft_data_come_from_the_training_split(caps, tmp_path):
    task = load_task(str(caps))
    demos = task.demos()
    assert demos[0] == Demo("Q: Capital of A?\nA:", "x", None) and len(demos) == 5
    assert task.to_sft(tmp_path / "sft.jsonl") == 5
    chats = read_jsonl(tmp_path / "sft.jsonl")
    assert chats[1]["messages"] == [
        {"role": "user", "content": "Q: Capital of B?\nA:"},
        {"role": "assistant", "content": "y"},
    ]


def test_the_sft_file_trains_with_lmforge_sft(caps, tmp_path, tokenizer_dir):
    from lmforge.models.io import load_tokenizer
    from lmforge.train.chat_data import chat_example, load_chats

    load_task(str(caps)).to_sft(tmp_path / "sft.jsonl")
    chats = load_chats([tmp_path / "sft.jsonl"])
    assert len(chats) == 5
    example = chat_example(load_tokenizer(tokenizer_dir), chats[0])
    assert 0 < sum(example.trained) < len(example.ids)  # only the answer is trained


def test_lab_tasks_take_demos_from_the_lab_training_data(tiny_lab):
    qa = load_task("lab-qa", tiny_lab)
    assert qa.fewshot_split == "sft/train.jsonl" and qa.fewshot
    held_out = {e["question"] for e in qa.examples}
    assert not held_out & {d.question for d in qa.demos()}  # never a held-out fact
    set_shots(qa, 3, 0)
    prompt = task_prompt(qa, qa.examples[0], chat=False, tokenizer=None)
    assert prompt.count("Question: ") == 4 and prompt.endswith(
        f"Question: {qa.examples[0]['question']}\nAnswer:"
    )
    arith = load_task("lab-arith", tiny_lab)
    assert all(d.rationale for d in arith.demos())  # the scratchpads, for chain-of-thought


def test_lab_tasks_without_training_data_refuse_shots(lab):
    task = load_task("lab-qa", lab)  # the fixture lab has only eval files
    set_shots(task, 0)
    with pytest.raises(LmforgeError, match=r"few-shot split \(sft/train.jsonl\) has 0"):
        set_shots(task, 1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("promt: x\n", r"caps.yaml: unknown field 'promt'\. Did you mean 'prompt'\?"),
        ("fewshot: {k: 1, sed: 3}\n", r"unknown field 'fewshot\.sed'\. Did you mean 'seed'"),
        ("extract: {regx: a}\n", r"unknown field 'extract\.regx'"),
        ("extract: {regex: '('}\n", r"field 'extract\.regex': not a valid regular expression"),
        ("extract: lines\n", r"field 'extract': Input should be 'first_line' or 'number'"),
        ("metrics: [f1]\n", r"metric 'f1' is not one of acc, acc_norm"),
        ("fewshot: {split: dev}\n", r"split 'dev' is not in data \(train, test\)"),
        ("generation: {max_tokens: 0}\n", r"field 'generation\.max_tokens'"),
    ],
)
def test_spec_errors_name_the_field_and_the_file(caps, extra, message):
    with pytest.raises(LmforgeError, match=message):
        load_task(write_yaml(caps, CAPS + extra))


def test_multiple_choice_needs_choices(tmp_path):
    with pytest.raises(LmforgeError, match="multiple_choice task needs `choices`"):
        load_task(write_yaml(tmp_path / "t.yaml", "data: x.jsonl\noutput_type: multiple_choice\n"))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"q": "?", "options": ["a", "b"]},
         r"column 'gold' \(used by target\) is missing in .*test\.jsonl:3 \(its columns: 'q'"),
        ({"q": "?", "options": ["only"], "gold": 0}, r"test\.jsonl:3 has 1 choice"),
        ({"q": "?", "options": ["a", "b"], "gold": "c"},
         r"target 'c' on .*test\.jsonl:3 is not one of the choices \['a', 'b'\]"),
        ({"q": "?", "options": ["a", "b"], "gold": 2}, r"target 2 .* is not an index of its 2"),
        ({"q": "?", "options": "ab", "gold": 0}, r"choices on .*test\.jsonl:3 are not a list"),
    ],
)  # fmt: skip
def test_bad_rows_name_the_column_file_and_line(caps, record, message):
    with (caps.parent / "test.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    with pytest.raises(LmforgeError, match=message):
        load_task(str(caps))


def test_template_errors(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "a", "xs": [1]}])
    with pytest.raises(LmforgeError, match=r"field 'prompt' is not a valid Jinja2 template"):
        load_task(write_yaml(tmp_path / "a.yaml", "data: d.jsonl\nprompt: '{{ question }'\n"))
    with pytest.raises(LmforgeError, match=r"field 'target' fails on .*d\.jsonl:1"):
        load_task(write_yaml(tmp_path / "b.yaml", "data: d.jsonl\ntarget: '{{ xs[3] }}'\n"))
    with pytest.raises(LmforgeError, match=r"data file .*nope\.jsonl does not exist"):
        load_task(write_yaml(tmp_path / "c.yaml", "data: nope.jsonl\n"))
    with pytest.raises(LmforgeError, match=r"task file .*none\.yaml does not exist"):
        load_task(str(tmp_path / "none.yaml"))


def gen_task(tmp_path: Path, extract: str, answers: list[str]):
    write_jsonl(tmp_path / "g.jsonl", [
        {"id": str(i), "question": f"q{i}", "answer": a, "also": [a.upper()]}
        for i, a in enumerate(answers)
    ])  # fmt: skip
    spec = f"data: g.jsonl\naliases: also\nextract: {extract}\nmetrics: [exact_match, f1]\n"
    return load_task(write_yaml(tmp_path / "g.yaml", spec))


def test_extractors_and_failed_extractions(tmp_path):
    task = gen_task(tmp_path, "{regex: 'ANSWER=(\\w+)'}", ["wool", "salt"])
    wool, salt = task.examples
    hit = score_generation(task, wool, " I think ANSWER=wool\n\nQuestion: next")
    assert (hit["prediction"], hit["correct"], hit["scores"]) == (
        "wool",
        True,
        {"exact_match": 1.0, "f1": 1.0},
    )
    miss = score_generation(task, salt, " salt")  # the extractor finds nothing: wrong
    assert (miss["extracted"], miss["correct"], miss["scores"]["f1"]) == (False, False, 0.0)
    # a stop string cuts the output before extraction
    assert not score_generation(task, salt, " x\n\nANSWER=salt")["extracted"]
    assert task_info(task, [hit, miss])["extract_failed"] == 1
    numbers = gen_task(tmp_path, "number", ["1234", "-2.5"])
    assert score_generation(numbers, numbers.examples[0], " so it is 1,234.")["correct"]
    assert score_generation(numbers, numbers.examples[1], "x = -2.50")["correct"]
    assert not score_generation(numbers, numbers.examples[1], "none")["extracted"]
    lines = gen_task(tmp_path, "first_line", ["copper"])
    assert score_generation(lines, lines.examples[0], "\n COPPER \nmore")["correct"]  # alias


@pytest.fixture(scope="module")
def lab_yaml(lab, tmp_path_factory) -> Path:
    """lab-qa as a YAML task: the same questions, answers and aliases."""
    root = tmp_path_factory.mktemp("yaml")
    write_jsonl(root / "qa.jsonl", read_jsonl(lab / "eval" / "qa.jsonl"))
    spec = (
        "name: qa-yaml\ndata: qa.jsonl\naliases: aliases\nfewshot: {k: 0, seed: 3}\n"
        "generation: {max_tokens: 16, stop: ['Question:']}\n"  # lab-qa's settings
    )
    return Path(write_yaml(root / "qa.yaml", spec))


def test_a_yaml_copy_of_lab_qa_scores_like_lab_qa(base_model, lab, lab_yaml, tmp_path):
    out = tmp_path / "out"
    results = evaluate(base_model, ["lab-qa", str(lab_yaml)], out, data=lab, show_progress=False)
    builtin, spec = results["tasks"]["lab-qa"], results["tasks"]["qa-yaml"]
    samples = read_jsonl(out / "samples.jsonl")
    by_task = {name: [s for s in samples if s["task"] == name] for name in ("lab-qa", "qa-yaml")}
    # same prompt text, same greedy output, same prediction and score
    for a, b in zip(by_task["lab-qa"], by_task["qa-yaml"], strict=True):
        assert (a["prompt"], a["output"], a["correct"]) == (b["prompt"], b["output"], b["correct"])
    assert spec["metrics"] == builtin["metrics"]
    assert spec["fewshot"] == {"k": 0, "seed": 3, "split": "test"}
    assert spec["task_hash"] == load_task(str(lab_yaml)).hash and "extract_failed" in spec
    inputs = read_manifest(out)["inputs"]
    assert {"task:qa-yaml", "task:qa-yaml:test", "data", "model"} <= set(inputs)


def test_shots_reach_the_prompts_and_the_record(base_model, caps, tmp_path):
    out = tmp_path / "out"
    results = evaluate(
        base_model, [str(caps)], out, chat_template="off", shots=3, fewshot_seed=11,
        show_progress=False,
    )  # fmt: skip
    assert results["tasks"]["caps"]["fewshot"] == {"k": 3, "seed": 11, "split": "train"}
    samples = read_jsonl(out / "samples.jsonl")
    assert all(len(s["fewshot_ids"]) == 3 and s["prompt"].count("Q: ") == 4 for s in samples)
    assert read_manifest(out)["config"]["fewshot_seed"] == {"caps": 11}


def test_a_yaml_task_on_the_tuned_model(sft_model, lab_yaml, tmp_path):
    results = evaluate(sft_model, [str(lab_yaml)], show_progress=False)
    assert results["chat_template"] is True
    assert results["tasks"]["qa-yaml"]["metrics"]["exact_match"] == 1.0
    assert results["tasks"]["qa-yaml"]["extract_failed"] == 0


def test_eval_cli_takes_yaml_tasks_and_shots(capsys, base_model, caps, tmp_path):
    code, output = run_cli(
        capsys, "eval", "--model", str(base_model), "--tasks", str(caps), "--shots", "1",
        "--chat-template", "off", "--out", str(tmp_path / "cli"),
    )  # fmt: skip
    assert code == 0, output
    assert "caps" in output and "acc_norm" in output
    results = json.loads((tmp_path / "cli" / "results.json").read_text(encoding="utf-8"))
    assert results["tasks"]["caps"]["fewshot"]["k"] == 1
    code, output = run_cli(capsys, "eval", "--model", str(base_model), "--tasks", str(caps),
                           "--shots", "9")  # fmt: skip
    assert code != 0 and "9 shots asked for task caps" in output


def test_a_rolling_task_reports_perplexities(tmp_path, base_model):
    write_jsonl(tmp_path / "docs.jsonl", [
        {"text": "Kamori is a town in the Velden region.", "lang": "en"},
        {"text": "카모리는 벨덴 지방의 마을이다.", "lang": "ko"},
    ])  # fmt: skip
    spec = "data: docs.jsonl\noutput_type: loglikelihood_rolling\nprompt: text\n"
    task = load_task(write_yaml(tmp_path / "ppl.yaml", spec))
    assert (
        task.kind == "loglikelihood_rolling"
        and task.examples[1]["text"] == "카모리는 벨덴 지방의 마을이다."
    )
    results = evaluate(base_model, [str(tmp_path / "ppl.yaml")], show_progress=False)
    summary = results["tasks"]["ppl"]
    assert set(summary["metrics"]) == set(task.metrics) and set(summary["by_lang"]) == {"en", "ko"}
    assert summary["metrics"]["word_perplexity"] > 1 and summary["task_hash"] == task.hash


def test_a_yaml_task_can_report_acc_bytes(caps, tmp_path, tiny_model_dir):
    text = caps.read_text(encoding="utf-8") + "metrics: [acc, acc_bytes]\n"
    task_file = Path(write_yaml(tmp_path / "caps_bytes.yaml", text))
    assert load_task(str(task_file)).metrics == ("acc", "acc_bytes")
    results = evaluate(tiny_model_dir, [str(task_file)], show_progress=False)
    assert set(results["tasks"]["caps"]["metrics"]) == {"acc", "acc_bytes"}
