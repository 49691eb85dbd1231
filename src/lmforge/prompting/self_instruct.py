"""Self-Instruct (Wang et al. 2023): grow instruction-tuning data from a few seed tasks.

    seeds = read_seed_tasks("seeds.jsonl")        # {"instruction", "input", "output"} lines
    result = self_instruct(backend, seeds, n=50)  # records (chat), report (counts, examples)

1. Instructions: each call shows `shots` tasks drawn (seeded) from the seeds and the ones kept
   so far as "Task 1: ...", "Task 2: ..." and asks for the next; every "Task N:" of the
   reply is a candidate.
2. Filters, in order (the first that fails is the drop reason): unparsed (empty, or not
   starting with a letter or digit), too_short / too_long (words), banned_keyword (tasks a
   text model cannot do: image, plot, audio, ...), similar (ROUGE-L F >= 0.7 against any
   instruction kept so far, seeds included).
3. Instances: each kept instruction gets an input and an output, with seed tasks as examples;
   a reply without "Output:" or with an empty output is dropped as unparsed_instance.

Records are `{"messages": [user, assistant]}` for `lmforge sft`. `lmforge prompt
self-instruct` writes them to data.jsonl with report.json and a manifest.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.infer.backends.base import Backend
from lmforge.jsonl import read_jsonl
from lmforge.prompting.rouge import rouge_l, tokens

BANNED = ("image", "images", "picture", "pictures", "graph", "graphs", "file", "files", "map",
          "maps", "draw", "drawing", "plot", "plots", "go to", "video", "videos", "audio",
          "flowchart", "diagram", "diagrams")  # fmt: skip
GENERATE_HEAD = "Come up with a series of tasks:"
INSTANCE_HEAD = (
    "Come up with an input and an output for the last task. "
    "If the task needs no input, write <noinput>."
)
NO_INPUT = "<noinput>"
TASK = re.compile(r"^\s*Task \d+:", re.MULTILINE)


@dataclass
class SelfInstructConfig:
    shots: int = 8  # tasks shown per instruction-generation prompt
    instance_shots: int = 2  # seed tasks shown per input/output prompt
    similarity: float = 0.7  # ROUGE-L F at or above which an instruction is a near-duplicate
    min_words: int = 3
    max_words: int = 150
    temperature: float = 0.7
    max_tokens: int = 256
    max_calls: int | None = None  # instruction-generation calls; default 4 * n
    seed: int = 0


@dataclass
class SelfInstructResult:
    records: list[dict[str, Any]]  # {"messages": [...]}, ready for lmforge sft
    tasks: list[dict[str, str]]  # the kept tasks as {"instruction", "input", "output"}
    report: dict[str, Any] = field(default_factory=dict)


def read_seed_tasks(path: str | Path) -> list[dict[str, str]]:
    """Seed tasks from JSONL: instruction and output required, input optional."""
    records = read_jsonl(path, required=("instruction", "output"))
    if not records:
        raise LmforgeError(f"{path} holds no seed tasks.", "Give at least one JSONL task.")
    return [{"instruction": str(r["instruction"]).strip(), "input": str(r.get("input") or ""),
             "output": str(r["output"])} for r in records]  # fmt: skip


def generation_prompt(tasks: Sequence[str]) -> str:
    lines = [GENERATE_HEAD, *(f"Task {i}: {t}" for i, t in enumerate(tasks, 1))]
    return "\n".join([*lines, f"Task {len(tasks) + 1}:"])


def instance_prompt(instruction: str, examples: Sequence[dict[str, str]]) -> str:
    blocks = [INSTANCE_HEAD]
    for task in examples:
        shown = task["input"].strip() or NO_INPUT
        blocks.append(f"Task: {task['instruction']}\nInput: {shown}\nOutput: {task['output']}")
    blocks.append(f"Task: {instruction}\nInput:")
    return "\n\n".join(blocks)


def candidates(reply: str) -> list[str]:
    """Each instruction of a reply: its text up to the next "Task N:", on one line."""
    return [" ".join(piece.split()) for piece in TASK.split(reply)]


def drop_reason(instruction: str, kept: Sequence[str], config: SelfInstructConfig) -> str | None:
    """Why an instruction is dropped (the first filter it fails), or None to keep it."""
    if not instruction or not instruction[0].isalnum():
        return "unparsed"
    n_words = len(instruction.split())
    if n_words < config.min_words:
        return "too_short"
    if n_words > config.max_words:
        return "too_long"
    words = " ".join(tokens(instruction))
    if any(re.search(rf"\b{re.escape(b)}\b", words) for b in BANNED):
        return "banned_keyword"
    if any(rouge_l(instruction, other) >= config.similarity for other in kept):
        return "similar"
    return None


def parse_instance(reply: str) -> tuple[str, str] | None:
    """(input, output) of an instance reply, or None when it has no non-empty output."""
    given, marker, output = reply.partition("Output:")
    output = output.split("\nTask:")[0].strip()
    if not marker or not output:
        return None
    given = given.strip()
    return ("" if given == NO_INPUT else given), output


def chat_record(instruction: str, given: str, output: str) -> dict[str, Any]:
    user = f"{instruction}\n\n{given}" if given else instruction
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    return {"messages": messages}


def self_instruct(
    backend: Backend, seeds: Sequence[dict[str, str]], n: int = 50,
    config: SelfInstructConfig | None = None,
) -> SelfInstructResult:  # fmt: skip
    """Up to `n` new instructions with an instance each (fewer if the calls run out)."""
    config = config or SelfInstructConfig()
    if n < 1:
        raise LmforgeError(f"n={n}: ask for at least one new instruction.")
    report = _Report()
    new = _instructions(backend, seeds, n, config, report)
    tasks, records = [], []
    rng = random.Random(config.seed + 1)
    for i, instruction in enumerate(new):
        examples = rng.sample(list(seeds), min(config.instance_shots, len(seeds)))
        prompt = instance_prompt(instruction, examples)
        reply = _ask(backend, prompt, config, seed=config.seed + 100_000 + i, stop=["\nTask:"])
        parsed = parse_instance(reply)
        if parsed is None:
            report.drop("unparsed_instance", instruction)
            continue
        tasks.append({"instruction": instruction, "input": parsed[0], "output": parsed[1]})
        records.append(chat_record(instruction, *parsed))
    return SelfInstructResult(records, tasks, report.summary(len(new), len(records)))


def _instructions(backend, seeds, n, config, report) -> list[str]:
    pool = [s["instruction"] for s in seeds]
    rng, new = random.Random(config.seed), []
    for call in range(config.max_calls or 4 * n):
        shown = rng.sample(pool, min(config.shots, len(pool)))
        reply = _ask(backend, generation_prompt(shown), config, seed=config.seed + call)
        report.calls += 1
        for instruction in candidates(reply):
            report.generated += 1
            reason = drop_reason(instruction, pool, config)
            if reason is not None:
                report.drop(reason, instruction)
            elif len(new) < n:
                pool.append(instruction)
                new.append(instruction)
        if len(new) >= n:
            break
    return new


def _ask(backend: Backend, prompt: str, config: SelfInstructConfig, seed: int, stop=None) -> str:
    # a chat-only backend (an OpenAI chat model) gets the same text as one user turn
    sent = prompt if "completion" in backend.capabilities else [{"role": "user", "content": prompt}]
    return backend.generate(
        sent, temperature=config.temperature, max_tokens=config.max_tokens, seed=seed, stop=stop
    ).text


class _Report:
    EXAMPLES = 3  # kept per drop reason

    def __init__(self) -> None:
        self.calls = self.generated = 0
        self.dropped: dict[str, dict[str, Any]] = {}

    def drop(self, reason: str, instruction: str) -> None:
        entry = self.dropped.setdefault(reason, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < self.EXAMPLES:
            entry["examples"].append(instruction)

    def summary(self, kept: int, records: int) -> dict[str, Any]:
        return {"calls": self.calls, "generated": self.generated, "kept": kept,
                "records": records, "dropped": self.dropped}  # fmt: skip


def run_self_instruct(
    model: str, seed_tasks: Path, out: Path, n: int = 50, config: SelfInstructConfig | None = None,
    overwrite: bool = False, backend: Backend | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`lmforge prompt self-instruct`: data.jsonl, tasks.jsonl, report.json and the manifest."""
    import json
    import os
    from dataclasses import asdict

    from lmforge.infer.backends import load_backend
    from lmforge.jsonl import write_jsonl
    from lmforge.runs import prepare_out_dir, write_manifest

    config = config or SelfInstructConfig()
    seeds = read_seed_tasks(seed_tasks)
    out = prepare_out_dir(out, overwrite=overwrite)
    result = self_instruct(backend or load_backend(model), seeds, n, config)
    write_jsonl(out / "data.jsonl", result.records)
    write_jsonl(out / "tasks.jsonl", result.tasks)
    text = json.dumps(result.report, indent=2, ensure_ascii=False) + "\n"
    (out / "report.json").write_text(text, encoding="utf-8")
    inputs = {"seed_tasks": seed_tasks, **({"model": model} if os.path.isdir(model) else {})}
    metrics = {k: result.report[k] for k in ("calls", "generated", "kept", "records")}
    write_manifest(out, "self-instruct", {"n": n, **asdict(config)}, inputs, metrics)
    return result.report
