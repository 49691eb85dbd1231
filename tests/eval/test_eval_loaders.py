"""Benchmark layouts from local files: MMLU/KMMLU, HellaSwag/SWAG, GSM8K, SQuAD/KorQuAD (EN, KO)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval.fewshot import score_generation, set_shots, task_prompt
from lmforge.eval.loaders import read_rows, squad_f1
from lmforge.eval.task import load_task
from lmforge.jsonl import write_jsonl


def write_csv(path: Path, rows: list[list[str]], bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def task_at(root: Path, spec: str, name: str = "task.yaml"):
    (root / name).write_text(spec, encoding="utf-8")
    return load_task(str(root / name))


MMLU_HEADER = ["question", "A", "B", "C", "D", "answer"]


def test_mmlu_csv_with_letters(tmp_path):
    write_csv(tmp_path / "dev.csv", [MMLU_HEADER, ["What is 1+1?", "1", "2", "3", "4", "B"]])
    write_csv(tmp_path / "test.csv", [
        MMLU_HEADER,
        ["Which metal is red, soft and conducts well?", "iron", "copper", "tin", "lead", "B"],
        ["Which is a gas, commas, and all?", "neon", "salt", "wool", "glass", "A"],
    ])  # fmt: skip
    task = task_at(tmp_path, "layout: mmlu\ndata: {dev: dev.csv, test: test.csv}\n"
                   "fewshot: {split: dev, k: 1}\n")  # fmt: skip
    first = task.examples[0]
    assert (task.kind, first["choices"], first["label"]) == ("multiple_choice", list("ABCD"), 1)
    assert first["context"] == (
        "Which metal is red, soft and conducts well?\nA. iron\nB. copper\nC. tin\nD. lead\nAnswer:"
    )
    assert task.metrics == ("acc", "acc_norm") and task.examples[1]["label"] == 0
    set_shots(task)
    prompt = task_prompt(task, first, chat=False, tokenizer=None)
    assert prompt.startswith("What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n")


def test_kmmlu_csv_numbers_answers_from_one(tmp_path):
    # KMMLU's files: 1-4 answers, extra columns, often a byte-order mark
    header = ["question", "answer", "A", "B", "C", "D", "Category", "Human Accuracy"]
    write_csv(tmp_path / "kmmlu.csv", [
        header,
        ["카모리의 주요 수출품은?", "2", "소금", "구리", "양모", "목재", "lab", "0.5"],
        ["테사의 상징 동물은?", "4", "여우", "곰", "매", "사슴", "lab", "0.4"],
    ], bom=True)  # fmt: skip
    task = task_at(tmp_path, "layout: mmlu\ndata: kmmlu.csv\nlang: ko\n")
    assert [e["label"] for e in task.examples] == [1, 3]
    assert task.examples[0]["lang"] == "ko" and "B. 구리" in task.examples[0]["context"]
    assert task.examples[0]["meta"]["row"]["Category"] == "lab"  # the file's own record


def test_headerless_mmlu_csv_and_bad_answers(tmp_path):
    write_csv(tmp_path / "raw.csv", [["What is 2+2?", "3", "4", "5", "6", "B"]])
    spec = "layout: mmlu\ndata: raw.csv\ncolumns: [question, A, B, C, D, answer]\n"
    assert task_at(tmp_path, spec).examples[0]["label"] == 1
    write_csv(tmp_path / "raw.csv", [["What is 2+2?", "3", "4", "5", "6", "E"]])
    with pytest.raises(LmforgeError, match=r"raw\.csv:1: answer 'E' is not an integer"):
        task_at(tmp_path, spec)
    write_csv(tmp_path / "raw.csv", [["What is 2+2?", "3", "4", "5", "6", "0"]])
    with pytest.raises(LmforgeError, match=r"raw\.csv:1: answer '0' names no choice"):
        task_at(tmp_path, spec)


def test_mmlu_parquet_with_a_choices_list(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "question": ["Which town exports copper?", "어느 마을이 소금을 수출하나?"],
        "subject": ["lab", "lab"],
        "choices": [["Kamori", "Tessa", "Orlen", "Halden"], ["카모리", "테사", "오를렌", "할덴"]],
        "answer": [0, 1],  # the Hugging Face files count from 0
    })  # fmt: skip
    pq.write_table(table, tmp_path / "test.parquet")
    task = task_at(tmp_path, "layout: mmlu\ndata: test.parquet\n")
    assert [e["label"] for e in task.examples] == [0, 1]
    assert "D. 할덴" in task.examples[1]["context"]
    assert task.examples[1]["meta"]["where"].endswith("test.parquet row 2")


def test_a_layout_names_a_missing_column(tmp_path):
    write_csv(
        tmp_path / "t.csv", [["question", "A", "B", "C", "answer"], ["q", "a", "b", "c", "A"]]
    )
    with pytest.raises(LmforgeError, match=r"t\.csv:2: column 'D' is missing \(the mmlu layout"):
        task_at(tmp_path, "layout: mmlu\ndata: t.csv\n")


def test_hellaswag_contexts_and_endings(tmp_path):
    write_jsonl(tmp_path / "hs.jsonl", [
        {"ind": 4, "activity_label": "Baking cookies", "ctx_a": "A woman puts dough on a tray.",
         "ctx_b": "she", "endings": ["bakes it [title] Done.", "eats the tray.", "sings.",
                                     "leaves."], "label": "0"},
        {"activity_label": "빵 굽기", "ctx": "한 여자가 반죽을 오븐에 넣는다. 그녀는",
         "endings": ["기다린다.", "춤춘다."], "label": 0},
    ])  # fmt: skip
    task = task_at(tmp_path, "layout: hellaswag\ndata: hs.jsonl\n")
    en, ko = task.examples
    assert en["context"] == "Baking cookies: A woman puts dough on a tray. She"
    assert en["choices"][0] == "bakes it. Done." and en["label"] == 0
    assert ko["context"] == "빵 굽기: 한 여자가 반죽을 오븐에 넣는다. 그녀는"
    assert task.chance == pytest.approx((1 / 4 + 1 / 2) / 2)


def test_swag_csv_endings(tmp_path):
    write_csv(tmp_path / "swag.csv", [
        ["sent1", "sent2", "ending0", "ending1", "ending2", "label"],
        ["The town sells copper.", "Traders", "buy it.", "fly away.", "sleep.", "0"],
    ])  # fmt: skip
    example = task_at(tmp_path, "layout: hellaswag\ndata: swag.csv\n").examples[0]
    assert example["choices"] == ["buy it.", "fly away.", "sleep."]
    assert example["context"] == "The town sells copper. Traders"


def test_gsm8k_answers_and_number_extraction(tmp_path):
    write_jsonl(tmp_path / "gsm.jsonl", [
        {"question": "Kamori sells 1,200 ingots and 34 more. How many?",
         "answer": "1200 + 34 = <<1200+34=1234>>1234\n#### 1,234"},
        {"question": "카모리는 구리 12개를 3명에게 나눈다. 한 명은 몇 개?",
         "answer": "12 / 3 = 4\n#### 4"},
    ])  # fmt: skip
    task = task_at(tmp_path, "layout: gsm8k\ndata: gsm.jsonl\n")
    en, ko = task.examples
    assert (en["answer"], en["rationale"]) == ("1234", "1200 + 34 = <<1200+34=1234>>1234")
    assert en["context"].startswith("Question: Kamori sells") and en["context"].endswith("Answer:")
    assert task.max_new_tokens == 256 and task.answer_match == "numeric"
    assert score_generation(task, en, " They have 1,234 ingots.\n\nQuestion: x 99")["correct"]
    assert score_generation(task, ko, " 12 / 3 = 4, 정답은 4개")["correct"]
    failed = score_generation(task, ko, " 모르겠다")
    assert (failed["extracted"], failed["correct"]) == (False, False)
    assert task.demos()[0].rationale.startswith("1200 + 34")
    write_jsonl(tmp_path / "gsm.jsonl", [{"question": "q", "answer": "no marker"}])
    with pytest.raises(LmforgeError, match=r"gsm\.jsonl:1: the answer has no '#### <number>'"):
        task_at(tmp_path, "layout: gsm8k\ndata: gsm.jsonl\n")


def test_squad_and_korquad(tmp_path):
    write_jsonl(tmp_path / "squad.jsonl", [
        {"id": "s1", "title": "Kamori", "context": "Kamori is a town. Its main export is copper.",
         "question": "What does Kamori export?",
         "answers": {"text": ["copper", "copper ore"], "answer_start": [36, 36]}},
    ])  # fmt: skip
    write_jsonl(tmp_path / "korquad.jsonl", [
        {"id": "k1", "context": "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다.",
         "question": "카모리의 주요 수출품은?", "answers": [{"text": "구리", "answer_start": 24}]},
    ])  # fmt: skip
    en = task_at(tmp_path, "layout: squad\ndata: squad.jsonl\n", "en.yaml")
    ko = task_at(tmp_path, "layout: squad\ndata: korquad.jsonl\nlang: ko\n", "ko.yaml")
    assert (en.metrics, en.kind) == (("exact_match", "f1"), "generate")
    example = en.examples[0]
    assert (example["answer"], example["aliases"]) == ("copper", ["copper ore"])
    assert example["context"] == (
        "Kamori is a town. Its main export is copper.\n\n"
        "Question: What does Kamori export?\nAnswer:"
    )
    scored = score_generation(en, example, " The copper ore, mostly\nmore text")
    assert scored["scores"]["exact_match"] == 0.0
    assert scored["scores"]["f1"] == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    scored = score_generation(ko, ko.examples[0], " 구리이다")  # KorQuAD: character F1
    assert scored["scores"]["f1"] == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_squad_f1():
    assert squad_f1("the copper", ["copper"]) == 1.0  # articles do not count
    assert squad_f1("salt", ["copper", "salt"]) == 1.0
    assert squad_f1("tin", ["copper"]) == 0.0
    assert squad_f1("구리", ["구리 광석"]) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_unanswerable_questions_are_refused(tmp_path):
    write_jsonl(tmp_path / "v2.jsonl", [
        {"context": "c", "question": "q", "answers": {"text": [], "answer_start": []}}
    ])  # fmt: skip
    with pytest.raises(LmforgeError, match=r"v2\.jsonl:1: the question has no answer"):
        task_at(tmp_path, "layout: squad\ndata: v2.jsonl\n")


def test_yaml_fields_override_a_layout(tmp_path):
    write_csv(
        tmp_path / "t.csv",
        [MMLU_HEADER, ["카모리의 수출품은?", "구리", "소금", "양모", "목재", "A"]],
    )
    spec = 'layout: mmlu\ndata: t.csv\nprompt: "{{ question }}\\n정답:"\nmetrics: [acc]\n'
    task = task_at(tmp_path, spec)
    assert task.examples[0]["context"] == "카모리의 수출품은?\n정답:" and task.metrics == ("acc",)


def test_data_file_errors(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"question": "q"}\n{not json\n', encoding="utf-8")
    with pytest.raises(LmforgeError, match=r"bad\.jsonl:2 is not valid JSON"):
        read_rows(tmp_path / "bad.jsonl")
    write_csv(tmp_path / "ragged.csv", [["question", "answer"], ["q", "a", "extra"]])
    with pytest.raises(LmforgeError, match=r"ragged\.csv:2 has a different number of fields"):
        read_rows(tmp_path / "ragged.csv")
    (tmp_path / "data.txt").write_text("x", encoding="utf-8")
    with pytest.raises(LmforgeError, match=r"cannot tell the format of .*data\.txt"):
        read_rows(tmp_path / "data.txt")
    (tmp_path / "empty.csv").write_text("question,answer\n", encoding="utf-8")
    with pytest.raises(LmforgeError, match=r"empty\.csv has no records"):
        read_rows(tmp_path / "empty.csv")
    (tmp_path / "rows.data").write_text(json.dumps({"question": "q"}) + "\n", encoding="utf-8")
    assert read_rows(tmp_path / "rows.data", "jsonl")[0].record == {"question": "q"}


def test_a_kmmlu_task_runs_on_a_model(base_model, tmp_path):
    from lmforge.eval import evaluate
    from lmforge.jsonl import read_jsonl

    header = ["question", "answer", "A", "B", "C", "D"]
    write_csv(
        tmp_path / "k.csv",
        [header, ["카모리는 무엇을 수출하나?", "2", "소금", "구리", "양모", "목재"]],
    )
    task_at(tmp_path, "name: kmmlu-lab\nlayout: mmlu\ndata: k.csv\nlang: ko\n")
    results = evaluate(base_model, [str(tmp_path / "task.yaml")], tmp_path / "out",
                       chat_template="off", show_progress=False)  # fmt: skip
    summary = results["tasks"]["kmmlu-lab"]
    assert (summary["n"], summary["chance"], set(summary["by_lang"])) == (1, 0.25, {"ko"})
    sample = read_jsonl(tmp_path / "out" / "samples.jsonl")[0]
    assert sample["choices"] == list("ABCD") and sample["target"] == 1
    assert sample["prediction"] == max(range(4), key=lambda i: sample["logliks"][i])
