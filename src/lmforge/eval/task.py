"""Evaluation tasks: a named set of examples, how they are scored, and what chance would score.

A `Task` is shaped like an lm-evaluation-harness task: an output type (`generate` ~ lm-eval's
`generate_until`, `multiple_choice`), documents, a target delimiter and a list of metrics.
Built-in tasks read the lab world (`lmforge lab generate`); any JSONL file of questions is a
task too, its kind inferred from its fields; a YAML file describes local data with templates
(`eval.spec`). Every record is checked up front, and a bad one is reported by file, line and
field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lmforge.errors import LmforgeError
from lmforge.eval.loaders import lab_fewshot
from lmforge.jsonl import iter_jsonl
from lmforge.runs import file_sha256

Kind = Literal["generate", "multiple_choice", "loglikelihood_rolling"]
METRICS: dict[str, tuple[str, ...]] = {
    "generate": ("exact_match",),
    "multiple_choice": ("acc", "acc_norm"),
}
DEFAULT_DATA = Path("lab")
# name -> (file under the lab directory, kind, answer matching, own generation length)
BUILTIN: dict[str, tuple[str, Kind, str, int | None]] = {
    "lab-qa": ("eval/qa.jsonl", "generate", "exact", None),
    "lab-mc": ("eval/mc.jsonl", "multiple_choice", "exact", None),
    # a tuned model writes a column-by-column scratchpad before "Answer: N"
    "lab-arith": ("arith/test.jsonl", "generate", "numeric", 256),
}
INTEGER = re.compile(r"^\s*-?\d+\s*$")


@dataclass
class Task:
    """What to ask, how to score it, and the score of guessing."""

    name: str
    kind: Kind
    examples: list[dict[str, Any]]
    metrics: tuple[str, ...]
    chance: float
    source: Path | None = None
    target_delimiter: str = " "
    answer_match: str = "exact"  # generate tasks: "exact" (with aliases) or "numeric"
    max_new_tokens: int | None = None  # generate tasks that need more than the default
    config: dict[str, Any] = field(default_factory=dict)
    spec: Any = None  # a YAML task's `eval.spec.TaskSpec`
    fewshot: list[dict[str, Any]] | None = None  # demonstrations; None: the task's own examples
    fewshot_split: str | None = None
    shots: int = 0  # demonstrations per prompt (`lmforge eval --shots`)
    fewshot_seed: int = 1234
    hash: str | None = None  # sha256 of the task's files (`eval.spec` for YAML tasks)
    files: dict[str, Path] = field(default_factory=dict)  # a YAML task's data files by split

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def output_type(self) -> str:
        """The lm-evaluation-harness name of the kind."""
        return "generate_until" if self.kind == "generate" else self.kind

    def demos(self) -> list[Any]:
        """The few-shot pool as `prompting.templates.Demo`s (question, answer, rationale)."""
        from lmforge.eval.fewshot import demos

        return demos(self)

    def to_sft(self, path: Path) -> int:
        """Write the few-shot (training) split as chat JSONL for `lmforge sft`; the count."""
        from lmforge.eval.fewshot import to_sft

        return to_sft(self, Path(path))


def known_tasks() -> list[str]:
    return list(BUILTIN)


def load_task(name_or_path: str, data: Path | None = None) -> Task:
    """A built-in lab task by name (reading the lab directory `data`), a JSONL or YAML file."""
    if name_or_path in BUILTIN:
        return _builtin(name_or_path, Path(data) if data is not None else DEFAULT_DATA)
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise LmforgeError(f"task file {path} does not exist.", "Check the path.")
        from lmforge.eval.spec import task_from_yaml  # it builds Tasks: import late

        return task_from_yaml(path)
    if path.suffix == ".jsonl" or path.is_file():
        if not path.is_file():
            raise LmforgeError(f"task file {path} does not exist.", "Check the path.")
        return task_from_file(path)
    raise LmforgeError(
        f"unknown task {name_or_path!r}.",
        f"Known tasks: {', '.join(BUILTIN)}; or give the path to a .jsonl file of questions "
        "or a task .yaml file.",
    )


def _builtin(name: str, data: Path) -> Task:
    relative, kind, match, max_new_tokens = BUILTIN[name]
    if not data.is_dir():
        raise LmforgeError(
            f"the lab directory {data} does not exist (task {name} reads {data / relative}).",
            f"Create it with `lmforge lab generate --out {data}` or pass its path as the data.",
        )
    path = data / relative
    if not path.is_file():
        raise LmforgeError(
            f"{path} is missing: {data} is not a complete lab directory.",
            f"Re-create it with `lmforge lab generate --out {data}`.",
        )
    task = task_from_file(path, name=name, kind=kind, answer_match=match)
    task.max_new_tokens = max_new_tokens
    task.fewshot_split, task.fewshot = lab_fewshot(name, data)
    return task


def task_from_file(
    path: Path, name: str | None = None, kind: Kind | None = None, answer_match: str | None = None
) -> Task:
    """Read and check every record of `path`; infer the kind from the first when not given."""
    records = list(_numbered(path))
    if not records:
        raise LmforgeError(f"{path} has no records.", "Add one JSON question per line.")
    if kind is None:
        kind = _infer_kind(records[0][1], f"{path}:{records[0][0]}")
    check = _check_mc if kind == "multiple_choice" else _check_generate
    examples = [check(record, f"{path}:{line}", n) for n, (line, record) in enumerate(records)]
    if answer_match is None:
        answer_match = "exact"
        if kind == "generate" and all(INTEGER.match(e["answer"]) for e in examples):
            answer_match = "numeric"
    return Task(
        name=name or path.stem,
        kind=kind,
        examples=examples,
        metrics=METRICS[kind],
        chance=_chance(kind, examples, answer_match),
        source=path,
        answer_match=answer_match,
        hash=file_sha256(path),
    )


def _numbered(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # iter_jsonl skips blank lines: count them here so errors name the right line
    with path.open("rb") as f:
        lines = [i for i, raw in enumerate(f, 1) if raw.strip()]
    yield from zip(lines, iter_jsonl(path), strict=False)


def _infer_kind(record: dict[str, Any], where: str) -> Kind:
    if "choices" in record and "label" in record:
        return "multiple_choice"
    if "answer" in record:
        return "generate"
    raise LmforgeError(
        f"{where}: cannot tell the task kind: the record has neither 'choices' + 'label' "
        "(multiple choice) nor 'answer' (generation).",
        'Records look like {"question": ..., "answer": ...} or '
        '{"question": ..., "choices": [...], "label": 0}.',
    )


def _base(record: dict[str, Any], where: str, n: int) -> dict[str, Any]:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        got = "is missing" if question is None else f"is {question!r}"
        raise LmforgeError(f"{where}: field 'question' {got}.", "Give the question as a string.")
    return {
        **record,
        "id": str(record.get("id", n)),
        "lang": str(record.get("lang", "und")),
        "question": question,
        "meta": record.get("meta") if isinstance(record.get("meta"), dict) else {},
    }


def _check_generate(record: dict[str, Any], where: str, n: int) -> dict[str, Any]:
    example = _base(record, where, n)
    answer = record.get("answer")
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str) or not answer.strip():
        raise LmforgeError(f"{where}: field 'answer' is {answer!r}.", "Give it as a string.")
    aliases = record.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise LmforgeError(f"{where}: field 'aliases' must be a list of strings, got {aliases!r}.")
    return {**example, "answer": answer, "aliases": aliases}


def _check_mc(record: dict[str, Any], where: str, n: int) -> dict[str, Any]:
    example = _base(record, where, n)
    choices = record.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise LmforgeError(f"{where}: field 'choices' must be a list of strings, got {choices!r}.")
    if len(choices) < 2:
        raise LmforgeError(
            f"{where}: field 'choices' has {len(choices)} choice(s); a question needs at least 2."
        )
    label = record.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(choices):
        raise LmforgeError(
            f"{where}: field 'label' is {label!r}, but it must be the index of the right choice "
            f"(an integer from 0 to {len(choices) - 1})."
        )
    return {**example, "choices": choices, "label": label}


def _chance(kind: Kind, examples: list[dict[str, Any]], answer_match: str) -> float:
    """Expected score of guessing: 1/#choices, or 1/#possible values of a lab attribute."""
    if kind == "multiple_choice":
        odds = [1 / len(e["choices"]) for e in examples]
    elif answer_match == "numeric":
        return 0.0
    else:
        odds = [_value_odds(e["meta"].get("n_values")) for e in examples]
    return sum(odds) / len(odds)


def _value_odds(n_values: Any) -> float:
    if isinstance(n_values, int) and not isinstance(n_values, bool) and n_values > 0:
        return 1 / n_values
    return 0.0
