"""Tasks written as YAML: a pydantic spec, checked in full before any model is loaded.

    task = load_task("tasks/capitals.yaml")        # or lmforge eval --tasks tasks/capitals.yaml

    name: capitals                    # default: the file's name
    data: {train: train.jsonl, test: test.csv}     # or one path; relative to the YAML file
    output_type: multiple_choice      # | generate | loglikelihood_rolling
    prompt: "Question: {{ question }}\\nAnswer:"
    choices: choices                  # a column, a list of templates, or "{{ [a, b] }}"
    target: label                     # an index, a digit string or one of the choices
    fewshot: {split: train, k: 5, seed: 1234}

Templates are Jinja2 (sandboxed, undefined names are errors): the syntax of
lm-evaluation-harness's `doc_to_text`, so its task YAML carries over. A bare name ("label")
is a column, taken as it is (a list stays a list). `layout:` (loaders.LAYOUTS) fills in the
fields a benchmark's files imply; the YAML overrides any of them. The spec becomes an
ordinary `Task`, so `lmforge eval`, `task.demos()` and `task.to_sft()` work as for the
built-in tasks; `eval.fewshot` puts the few-shot prompts and answer extraction together.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lmforge.errors import LmforgeError
from lmforge.eval.loaders import LAYOUTS, Row, read_rows
from lmforge.eval.perplexity import METRICS as ROLLING_METRICS
from lmforge.eval.task import Task
from lmforge.runs import file_sha256

OutputType = Literal["multiple_choice", "generate", "loglikelihood_rolling"]
METRICS: dict[str, tuple[str, ...]] = {  # what each output type can report
    "multiple_choice": ("acc", "acc_norm", "acc_bytes"),
    "generate": ("exact_match", "f1"),
    "loglikelihood_rolling": ROLLING_METRICS,
}
DEFAULT_METRICS = {
    "multiple_choice": 2,
    "generate": 1,
    "loglikelihood_rolling": len(ROLLING_METRICS),
}
COLUMN = re.compile(r"^[A-Za-z_]\w*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FewshotSpec(_Strict):
    split: str | None = None  # default: train, else validation, else the evaluated split
    k: int = Field(0, ge=0)  # `lmforge eval --shots` overrides it
    seed: int = 1234  # lm-evaluation-harness's default few-shot seed
    delimiter: str = "\n\n"


class RegexExtract(_Strict):
    regex: str
    group: int = Field(1, ge=0)  # 0 = the whole match; patterns without groups use 0

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"not a valid regular expression ({e})") from None
        return pattern


class GenerationSpec(_Strict):
    max_tokens: int = Field(32, ge=1)
    stop: list[str] = Field(default_factory=lambda: ["\n\n", "Question:"])


class TaskSpec(_Strict):
    name: str | None = None
    description: str = ""  # put before the demonstrations (a system turn in chat)
    data: str | dict[str, str]
    split: str = "test"  # the evaluated split when `data` names several
    format: Literal["jsonl", "csv", "parquet"] | None = None  # default: from the extension
    columns: list[str] | None = None  # a CSV without a header row
    layout: Literal["mmlu", "hellaswag", "gsm8k", "squad"] | None = None
    output_type: OutputType = "generate"
    prompt: str = "Question: {{ question }}\nAnswer:"
    target: str = "answer"
    choices: str | list[str] | None = None
    aliases: str | None = None  # a column of other accepted answers (generate)
    lang: str = "und"  # a row's own "lang" column wins
    target_delimiter: str = " "
    fewshot: FewshotSpec = FewshotSpec()
    metrics: list[str] | None = None  # default: the first DEFAULT_METRICS of METRICS
    extract: Literal["first_line", "number"] | RegexExtract = "first_line"
    generation: GenerationSpec = GenerationSpec()

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        if self.output_type == "multiple_choice" and self.choices is None:
            raise ValueError("a multiple_choice task needs `choices`")
        known = METRICS[self.output_type]
        for metric in self.metrics or ():
            if metric not in known:
                raise ValueError(f"metric {metric!r} is not one of {', '.join(known)}")
        splits = self.data if isinstance(self.data, dict) else {self.split: ""}
        for split in (self.split, self.fewshot.split):
            if split is not None and split not in splits:
                raise ValueError(f"split {split!r} is not in data ({', '.join(splits)})")
        return self


MODELS: dict[str, type[BaseModel]] = {
    "": TaskSpec, "fewshot": FewshotSpec, "generation": GenerationSpec, "extract": RegexExtract,
}  # fmt: skip


def read_spec(path: Path) -> TaskSpec:
    """The validated spec of the YAML file `path`, a layout's defaults filled in."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise LmforgeError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise LmforgeError(f"{path}: a task is a YAML mapping (name:, data:, prompt:, ...).")
    layout = LAYOUTS.get(raw.get("layout"))  # type: ignore[arg-type]
    if layout is not None:
        generation = {**layout.defaults.get("generation", {}), **(raw.get("generation") or {})}
        raw = {**layout.defaults, **raw, "generation": generation}
    try:
        return TaskSpec.model_validate(raw)
    except ValidationError as e:
        raise _spec_error(path, e) from None


def _spec_error(path: Path, error: ValidationError) -> LmforgeError:
    # `extract` is a name or a {regex:} mapping: report the branch the user wrote
    errors = [e for e in error.errors() if not _wrong_branch(e)] or error.errors()
    # an unknown field explains the rest (a misspelt field is also a missing one)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    names = {name for model in MODELS.values() for name in model.model_fields}
    *parents, last = first["loc"] or ("",)
    loc = [str(part) for part in parents if part in names or isinstance(part, int)]
    if last in names or isinstance(last, int) or first["type"] == "extra_forbidden":
        loc.append(str(last))
    where = ".".join(loc)
    if first["type"] == "extra_forbidden":
        known = _known_fields(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        return LmforgeError(
            f"{path}: unknown field {where!r}.", f"{hint}Known fields: {', '.join(known)}."
        )
    if first["type"] == "missing":
        return LmforgeError(f"{path}: field {where!r} is missing.", "See docs/evaluation.md.")
    message = first["msg"].removeprefix("Value error, ")
    at = f"field {where!r}" if where else "the task"
    return LmforgeError(f"{path}: {at}: {message}.", "See docs/evaluation.md (Tasks).")


def _wrong_branch(error: Any) -> bool:
    """An error of the `extract` name branch when the user wrote a {regex:} mapping."""
    literal = any(str(part).startswith("literal[") for part in error["loc"])
    return literal and not isinstance(error.get("input"), str)


def _known_fields(parent: list[str]) -> list[str]:
    return list(MODELS.get(".".join(parent), TaskSpec).model_fields)


class _Field:
    """One spec field: a column name, or a Jinja2 template of the row's columns (`text`: a
    template even when it is a bare name, as each item of a `choices` list is)."""

    def __init__(
        self, name: str, source: str, env: SandboxedEnvironment, path: Path, text: bool = False
    ) -> None:
        self.name, self.source = name, source
        self.column = source if COLUMN.match(source) and not text else None
        if self.column is not None:
            self.columns = {self.column}
            return
        try:
            self.template = env.from_string(source)
            tree = env.parse(source)
            self.columns = meta.find_undeclared_variables(tree) - set(env.globals)
            for literal in tree.find_all(nodes.TemplateData):
                literal.data = " "
            self.bare = env.from_string(tree)  # the template without its own words
        except TemplateError as e:
            raise LmforgeError(
                f"{path}: field {name!r} is not a valid Jinja2 template: {e}."
            ) from None

    def value(self, record: dict[str, Any], where: str, path: Path, bare: bool = False) -> Any:
        """The field for `record`; `bare`: only what comes from the row (no template text)."""
        if self.column is not None:
            return record[self.column]
        try:
            return (self.bare if bare else self.template).render(**record)
        except TemplateError as e:
            raise LmforgeError(f"{path}: field {self.name!r} fails on {where}: {e}.") from None


class _Fields:
    """The compiled templates of a spec, checked against each row before rendering it."""

    def __init__(self, spec: TaskSpec, path: Path) -> None:
        env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
        self.spec, self.path = spec, path
        self.prompt = _Field("prompt", spec.prompt, env, path)
        self.target = _Field("target", spec.target, env, path)
        choices = spec.choices if spec.output_type == "multiple_choice" else None
        self.choice_list = isinstance(choices, list)
        sources = choices if isinstance(choices, list) else [choices] if choices else []
        self.choices = [
            _Field("choices", source, env, path, text=self.choice_list) for source in sources
        ]
        self.aliases = _Field("aliases", spec.aliases, env, path) if spec.aliases else None
        fields = [self.prompt, *self.choices]
        if spec.output_type != "loglikelihood_rolling":
            fields += [self.target, *([self.aliases] if self.aliases else [])]
        self.needed = {(c, f.name) for f in fields for c in f.columns}

    def example(self, row: Row, split: str, n: int, raw: dict[str, Any]) -> dict[str, Any]:
        """The example of `row` (`raw`: the file's own record, before any layout)."""
        record, where = row.record, row.where
        for column, used_by in sorted(self.needed):
            if column not in record:
                have = ", ".join(map(repr, record)) or "none"
                raise LmforgeError(
                    f"{self.path}: column {column!r} (used by {used_by}) is missing in {where} "
                    f"(its columns: {have}).",
                    "Fix the data file or the template.",
                )
        context = str(self.prompt.value(record, where, self.path))
        # the row's own words in the prompt: what contamination checks look for in a corpus
        content = " ".join(str(self.prompt.value(record, where, self.path, bare=True)).split())
        lang = record.get("lang") if isinstance(record.get("lang"), str) else self.spec.lang
        example = {"id": str(record.get("id", f"{split}-{n}")), "lang": lang,
                   "question": context, "context": context, "content": content,
                   "meta": {"where": where, "split": split, "row": raw}}  # fmt: skip
        if isinstance(record.get("rationale"), str):
            example["rationale"] = record["rationale"]
        kind = self.spec.output_type
        if kind == "multiple_choice":
            return {**example, **self._choice(record, where)}
        if kind == "generate":
            aliases = self.aliases.value(record, where, self.path) if self.aliases else []
            answer = self.target.value(record, where, self.path)
            return {**example, "answer": str(answer), "aliases": [str(a) for a in aliases]}
        return {**example, "text": context}

    def _choice(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        values = [field.value(record, where, self.path) for field in self.choices]
        if not self.choice_list:
            values = values[0]
            if isinstance(values, str) and self.choices[0].column is None:
                values = _literal(values)
        if not isinstance(values, list | tuple) or not values:
            raise LmforgeError(f"{self.path}: choices on {where} are not a list ({values!r}).")
        choices = [str(v) for v in values]
        if len(choices) < 2:
            raise LmforgeError(
                f"{self.path}: {where} has {len(choices)} choice ({choices!r}); "
                "a multiple-choice question needs at least 2."
            )
        return {"choices": choices, "label": self._label(record, where, choices)}

    def _label(self, record: dict[str, Any], where: str, choices: list[str]) -> int:
        target = self.target.value(record, where, self.path)
        # as lm-evaluation-harness does: an integer, or a digit string, is an index
        if isinstance(target, str) and target.strip().isdigit():
            target = int(target.strip())
        if isinstance(target, int) and not isinstance(target, bool):
            if 0 <= target < len(choices):
                return target
            raise LmforgeError(
                f"{self.path}: target {target} on {where} is not an index of its "
                f"{len(choices)} choices."
            )
        if str(target) in choices:
            return choices.index(str(target))
        raise LmforgeError(
            f"{self.path}: target {target!r} on {where} is not one of the choices {choices!r}.",
            "Give the target as an index or as the text of one choice.",
        )


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text


def task_from_yaml(path: Path) -> Task:
    """Read, check and build the task of the YAML file `path`; every problem is named here."""
    spec = read_spec(path)
    files = _data_files(spec, path)
    fields = _Fields(spec, path)
    examples = _split_examples(spec, fields, files, spec.split)
    fewshot_split = _fewshot_split(spec, files)
    pool = None
    if fewshot_split != spec.split:
        pool = _split_examples(spec, fields, files, fewshot_split)
    kind = spec.output_type
    chance = 0.0
    if kind == "multiple_choice":
        chance = sum(1 / len(e["choices"]) for e in examples) / len(examples)
    return Task(
        name=spec.name or path.stem,
        kind=kind,  # type: ignore[arg-type]
        examples=examples,
        metrics=tuple(spec.metrics or METRICS[kind][: DEFAULT_METRICS[kind]]),
        chance=chance,
        source=path,
        target_delimiter=spec.target_delimiter,
        answer_match="numeric" if spec.extract == "number" else "exact",
        max_new_tokens=spec.generation.max_tokens,
        spec=spec,
        fewshot=pool,
        fewshot_split=fewshot_split,
        shots=spec.fewshot.k,
        fewshot_seed=spec.fewshot.seed,
        hash=_task_hash(path, files),
        files=files,
    )


def _data_files(spec: TaskSpec, path: Path) -> dict[str, Path]:
    data = spec.data if isinstance(spec.data, dict) else {spec.split: spec.data}
    return {split: (path.parent / file) for split, file in data.items()}


def _fewshot_split(spec: TaskSpec, files: dict[str, Path]) -> str:
    if spec.fewshot.split is not None:
        return spec.fewshot.split
    return next((s for s in ("train", "validation") if s in files), spec.split)


def _split_examples(
    spec: TaskSpec, fields: _Fields, files: dict[str, Path], split: str
) -> list[dict[str, Any]]:
    rows = read_rows(files[split], spec.format, spec.columns)
    convert = LAYOUTS[spec.layout].convert if spec.layout is not None else None
    return [
        fields.example(
            Row(r.where, convert(r.record, r.where)) if convert else r, split, n, r.record
        )
        for n, r in enumerate(rows)
    ]


def _task_hash(path: Path, files: dict[str, Path]) -> str:
    """sha256 over the YAML and every data file: same hash, same task."""
    parts = [file_sha256(path)] + [f"{s}:{file_sha256(files[s])}" for s in sorted(files)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
