"""Local data for YAML tasks: read JSONL / CSV / parquet rows; map common benchmark layouts.

    rows = read_rows(Path("kmmlu/test.csv"))            # [Row(where="kmmlu/test.csv:2", record)]
    rows = [LAYOUTS["mmlu"].convert(r.record, r.where) for r in rows]

A layout turns one row of a well-known benchmark file into the columns its default templates
use (and `TaskSpec` fields it fills unless the YAML sets them). The user brings the files;
nothing is downloaded.

- `mmlu`: question, A, B, C, D, answer (a letter; or 1-4, KMMLU's numbering), or
  question + choices (a list) + answer (0-3, the Hugging Face parquet) -> choices, label.
- `hellaswag`: ctx (or ctx_a + ctx_b), activity_label, endings (a list) or ending0..endingN
  (SWAG's CSV), label -> query (cleaned as lm-evaluation-harness does), choices, label.
- `gsm8k`: question, answer ("reasoning ... #### 72") -> answer "72", rationale.
- `squad`: context, question, answers ({"text": [...]}, [{"text": ...}], [...] or a string)
  -> answer (the first) and aliases (the others); KorQuAD 1.0 has the same layout.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.eval.metrics import f1_score

FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
# built-in lab task -> its few-shot split: the lab's training data (never the held-out facts)
LAB_FEWSHOT = {"lab-qa": "sft/train.jsonl", "lab-mc": "sft/train.jsonl",
               "lab-arith": "arith/train.jsonl"}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One record of a data file and where it is (`file:line`, or `file row N` for parquet)."""

    where: str
    record: dict[str, Any]


def read_rows(path: Path, fmt: str | None = None, columns: list[str] | None = None) -> list[Row]:
    """Every record of `path`; `columns` names the fields of a CSV without a header row."""
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise LmforgeError(
            f"cannot tell the format of {path} from its extension.",
            "Name it .jsonl, .csv or .parquet, or set `format:` in the task YAML.",
        )
    if not path.is_file():
        raise LmforgeError(f"data file {path} does not exist.", "Check the path in the task YAML.")
    rows = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[fmt](path, columns)
    if not rows:
        raise LmforgeError(f"{path} has no records.", "Give a data file with examples.")
    return rows


def _jsonl(path: Path, columns: list[str] | None) -> list[Row]:
    rows = []
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise LmforgeError(f"{path}:{line_no} is not valid JSON ({e}).") from None
            if not isinstance(record, dict):
                raise LmforgeError(f"{path}:{line_no} is not a JSON object.")
            rows.append(Row(f"{path}:{line_no}", record))
    return rows


def _csv(path: Path, columns: list[str] | None) -> list[Row]:
    # utf-8-sig: spreadsheet exports (KMMLU's among them) often start with a byte-order mark
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, fieldnames=columns)
        rows = []
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if None in record or None in record.values():
                raise LmforgeError(
                    f"{where} has a different number of fields than the header "
                    f"({len(reader.fieldnames or [])}: {', '.join(reader.fieldnames or [])}).",
                    "Fix the row (quote fields that contain commas).",
                )
            rows.append(Row(where, dict(record)))
    return rows


def _parquet(path: Path, columns: list[str] | None) -> list[Row]:
    import pyarrow.parquet as pq  # only when a parquet file is read

    records = pq.read_table(path).to_pylist()
    return [Row(f"{path} row {n}", record) for n, record in enumerate(records, 1)]


def lab_fewshot(name: str, lab: Path) -> tuple[str, list[dict[str, Any]]]:
    """(split, demonstrations) of a built-in lab task; no demonstrations if the file is absent.

    Fact questions come from the SFT chats (`meta.kind` "fact_qa"), arithmetic from its
    training problems with their scratchpads as rationales.
    """
    split = LAB_FEWSHOT[name]
    path = lab / split
    if not path.is_file():
        return split, []
    pool = []
    for n, record in enumerate(r.record for r in _jsonl(path, None)):
        if "messages" in record:
            if record.get("meta", {}).get("kind") != "fact_qa":
                continue
            question, answer = (m["content"] for m in record["messages"][:2])
        else:
            question, answer = record["question"], str(record["answer"])
        pool.append({"id": str(record.get("id", n)), "lang": record.get("lang", "und"),
                     "question": question, "answer": answer, "aliases": [],
                     "rationale": record.get("scratchpad"), "meta": {}})  # fmt: skip
    return split, pool


@dataclass(frozen=True)
class Layout:
    """How a row of a benchmark file becomes template columns, and the task defaults it implies."""

    convert: Callable[[dict[str, Any], str], dict[str, Any]]
    defaults: dict[str, Any] = field(default_factory=dict)


def _need(record: dict[str, Any], column: str, where: str, layout: str) -> Any:
    if column not in record or record[column] is None:
        raise LmforgeError(
            f"{where}: column {column!r} is missing (the {layout} layout needs it; "
            f"the row has {', '.join(map(repr, record)) or 'no columns'}).",
            "Rename the column, or describe the file with templates instead of a layout.",
        )
    return record[column]


def _int(value: Any, where: str, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise LmforgeError(f"{where}: {what} {value!r} is not an integer.") from None


def mmlu(record: dict[str, Any], where: str) -> dict[str, Any]:
    question = _need(record, "question", where, "mmlu")
    answer = str(_need(record, "answer", where, "mmlu")).strip()
    if "choices" in record and "A" not in record:  # Hugging Face parquet: 0-based index
        choices, label = [str(c) for c in record["choices"]], _int(answer, where, "answer")
    else:
        choices = [str(_need(record, letter, where, "mmlu")) for letter in "ABCD"]
        # a letter, or KMMLU's 1-based number
        letter = answer in tuple("ABCD")
        label = "ABCD".index(answer) if letter else _int(answer, where, "answer") - 1
    if not 0 <= label < len(choices):
        raise LmforgeError(
            f"{where}: answer {answer!r} names no choice.",
            "Use A-D, 1-4 (KMMLU) with A-D columns, or 0-3 with a choices list.",
        )
    return {**record, "question": str(question), "choices": choices, "label": label}


def _hellaswag_clean(text: str) -> str:
    # lm-evaluation-harness's hellaswag preprocess: WikiHow "[title]" marks become sentence ends
    text = text.strip().replace(" [title]", ". ")
    return re.sub(r"\[.*?\]", "", text).replace("  ", " ")


def hellaswag(record: dict[str, Any], where: str) -> dict[str, Any]:
    if "ctx_a" in record:
        ctx = f"{record['ctx_a']} {str(record.get('ctx_b') or '').capitalize()}"
    elif "sent1" in record:  # SWAG's CSV
        ctx = f"{record['sent1']} {record.get('sent2') or ''}"
    else:
        ctx = str(_need(record, "ctx", where, "hellaswag"))
    activity = record.get("activity_label")
    query = _hellaswag_clean(f"{activity}: {ctx}" if activity else ctx)
    if "endings" in record:
        endings = record["endings"]
        if isinstance(endings, str):  # a JSON list in a CSV cell
            endings = _json_cell(endings)
    else:
        endings = [record[f"ending{i}"] for i in range(10) if f"ending{i}" in record]
        if not endings:
            _need(record, "endings", where, "hellaswag")
    label = _int(_need(record, "label", where, "hellaswag"), where, "label")
    choices = [_hellaswag_clean(str(e)) for e in endings]
    return {**record, "query": query, "choices": choices, "label": label}


GSM8K_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.S)


def gsm8k(record: dict[str, Any], where: str) -> dict[str, Any]:
    question = _need(record, "question", where, "gsm8k")
    solution = str(_need(record, "answer", where, "gsm8k"))
    found = GSM8K_ANSWER.search(solution)
    if found is None:
        raise LmforgeError(
            f"{where}: the answer has no '#### <number>' line (got {solution[-60:]!r}).",
            "GSM8K answers end with '#### 72'.",
        )
    answer = found.group(1).replace(",", "")
    rationale = solution[: found.start()].strip()
    return {**record, "question": str(question), "answer": answer, "rationale": rationale,
            "solution": solution}  # fmt: skip


def squad(record: dict[str, Any], where: str) -> dict[str, Any]:
    _need(record, "context", where, "squad")
    _need(record, "question", where, "squad")
    answers = _answer_texts(record.get("answers", record.get("answer")))
    if not answers:
        raise LmforgeError(
            f"{where}: the question has no answer (column 'answers').",
            "Unanswerable (SQuAD 2.0-style) questions are not scored: leave them out.",
        )
    return {**record, "answer": answers[0], "aliases": answers[1:]}


def _answer_texts(answers: Any) -> list[str]:
    if isinstance(answers, str):
        answers = _json_cell(answers) if answers.lstrip().startswith(("[", "{")) else [answers]
    if isinstance(answers, dict):
        answers = answers.get("text", [])
    texts = [a.get("text") if isinstance(a, dict) else a for a in answers or []]
    return list(dict.fromkeys(str(t) for t in texts if t))


def _json_cell(text: str) -> Any:
    """A list or object written as JSON in a CSV cell."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise LmforgeError(f"a cell holds invalid JSON ({e}): {text[:60]!r}.") from None


_MC = {"output_type": "multiple_choice", "metrics": ["acc", "acc_norm"]}
MMLU_PROMPT = (
    "{{ question.strip() }}\nA. {{ choices[0] }}\nB. {{ choices[1] }}\nC. {{ choices[2] }}\n"
    "D. {{ choices[3] }}\nAnswer:"
)
LAYOUTS: dict[str, Layout] = {
    "mmlu": Layout(mmlu, {**_MC, "prompt": MMLU_PROMPT, "choices": list("ABCD"),
                          "target": "label"}),
    "hellaswag": Layout(hellaswag, {**_MC, "prompt": "query", "choices": "choices",
                                    "target": "label"}),
    "gsm8k": Layout(gsm8k, {"output_type": "generate", "metrics": ["exact_match"],
                            "prompt": "Question: {{ question }}\nAnswer:", "target": "answer",
                            "extract": "number",
                            "generation": {"max_tokens": 256, "stop": ["Question:", "\n\n"]}}),
    "squad": Layout(squad, {"output_type": "generate", "metrics": ["exact_match", "f1"],
                            "prompt": "{{ context }}\n\nQuestion: {{ question }}\nAnswer:",
                            "target": "answer", "aliases": "aliases", "extract": "first_line",
                            "generation": {"max_tokens": 32, "stop": ["\n"]}}),
}  # fmt: skip

# SQuAD's token F1 (characters when Korean is involved, as KorQuAD's script): one definition,
# in eval.metrics; the squad layout's metric is that function
squad_f1 = f1_score
