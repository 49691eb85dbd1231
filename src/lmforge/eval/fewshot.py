"""Few-shot prompts, answer extraction and training data from any `Task` (built-in or YAML).

    set_shots(task, 5, seed=1234)          # checks the few-shot split has 5 demonstrations
    task_prompt(task, example, chat=False, tokenizer=tok)   # lm-eval's fewshot_context
    task.demos()                            # prompting.templates.Demo objects (lmforge prompt)
    task.to_sft("sft.jsonl")                # chat JSONL (lmforge sft) from the few-shot split

Demonstrations come from the task's few-shot split (a YAML task's `fewshot.split`, else its
train or validation split; the lab's training data for built-in tasks), drawn with the seed
and the example's id, so each example's demonstrations do not depend on the order of the
others; an example is never its own demonstration. A completion prompt is
`description + (context + target_delimiter + target + fewshot_delimiter) * k + context`; a
chat prompt puts each demonstration in its own user and assistant turns (lm-eval's
`fewshot_as_multiturn`) after the description as a system turn.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.eval.loaders import squad_f1
from lmforge.eval.prompts import messages_for, prompt_for
from lmforge.eval.scoring import exact_match
from lmforge.eval.task import Task
from lmforge.jsonl import write_jsonl

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def pool(task: Task) -> list[dict[str, Any]]:
    return task.fewshot if task.fewshot is not None else task.examples


def set_shots(task: Task, shots: int | None = None, seed: int | None = None) -> None:
    """Use `shots` demonstrations drawn with `seed` (None: the task's own settings)."""
    task.shots = task.shots if shots is None else shots
    task.fewshot_seed = task.fewshot_seed if seed is None else seed
    if task.shots < 0:
        raise LmforgeError(f"shots {task.shots} is negative.", "Use 0 (zero-shot) or more.")
    # the example itself is left out when demonstrations come from the evaluated split
    available = len(pool(task)) - (task.fewshot is None)
    if task.shots > available:
        split = task.fewshot_split or "the evaluated split"
        raise LmforgeError(
            f"{task.shots} shots asked for task {task.name}, but its few-shot split ({split}) "
            f"has {max(available, 0)} demonstrations.",
            "Ask for fewer shots, or give the task a larger few-shot split.",
        )


def fewshot_for(task: Task, example: dict[str, Any]) -> list[dict[str, Any]]:
    """The `task.shots` demonstrations for `example`, in prompt order."""
    if task.shots == 0:
        return []
    query = user_text(task, example, chat=True)
    candidates = [d for d in pool(task) if user_text(task, d, chat=True) != query]
    digest = hashlib.sha256(f"{task.fewshot_seed}\0{example['id']}\0{query}".encode()).hexdigest()
    return random.Random(digest).sample(candidates, min(task.shots, len(candidates)))


def user_text(task: Task, example: dict[str, Any], chat: bool) -> str:
    """What the model is asked: a YAML task's rendered prompt, or the built-in wording."""
    if "context" in example:
        return example["context"]
    if chat:
        return messages_for(example)[0]["content"]
    return prompt_for(example, task.kind, False, None)


def target_text(example: dict[str, Any]) -> str:
    """A demonstration's answer: the right choice's text, or the answer."""
    if "choices" in example:
        return example["choices"][example["label"]]
    return str(example["answer"])


def task_prompt(
    task: Task, example: dict[str, Any], chat: bool, tokenizer, messages: bool = False
) -> str | list[dict[str, str]]:
    """The prompt for `example`: text, or with `messages` (chat only) the turns themselves."""
    demos = fewshot_for(task, example)
    description = task.spec.description if task.spec is not None else ""
    if not chat:
        delimiter = task.spec.fewshot.delimiter if task.spec is not None else "\n\n"
        shots = "".join(
            user_text(task, d, False) + task.target_delimiter + target_text(d) + delimiter
            for d in demos
        )
        return description + shots + user_text(task, example, False)
    turns = [{"role": "system", "content": description}] if description else []
    for demo in demos:
        turns.append({"role": "user", "content": user_text(task, demo, True)})
        turns.append({"role": "assistant", "content": target_text(demo)})
    turns.append({"role": "user", "content": user_text(task, example, True)})
    if messages:
        return turns
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)


def extract_answer(task: Task, output: str) -> str | None:
    """A YAML task's answer in `output`, cut at its stop strings; None if nothing matches."""
    spec = task.spec
    for stop in spec.generation.stop:
        output = output.split(stop, 1)[0]
    if spec.extract == "first_line":
        return next((line.strip() for line in output.splitlines() if line.strip()), None)
    if spec.extract == "number":
        found = NUMBER.findall(output)
        return found[-1].replace(",", "") if found else None
    match = re.search(spec.extract.regex, output)
    if match is None:
        return None
    return match.group(min(spec.extract.group, len(match.groups())) if match.groups() else 0)


def score_generation(task: Task, example: dict[str, Any], output: str) -> dict[str, Any]:
    """prediction, extracted, correct and scores of a YAML generation task's output."""
    prediction = extract_answer(task, output)
    answers = [example["answer"], *example["aliases"]]
    if prediction is None:  # an extractor that finds nothing scores as wrong
        correct = False
    elif task.spec.extract == "number":
        correct = _same_number(prediction, example["answer"])
    else:
        correct = exact_match(prediction, answers)
    scores = {"exact_match": float(correct)}
    if "f1" in task.metrics:
        scores["f1"] = squad_f1(prediction, answers) if prediction is not None else 0.0
    return {"prediction": prediction or "", "extracted": prediction is not None,
            "correct": correct, "scores": scores}  # fmt: skip


def _same_number(prediction: str, answer: str) -> bool:
    try:
        return float(prediction) == float(answer.replace(",", ""))
    except ValueError:
        return exact_match(prediction, [answer])


def task_info(task: Task, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """What a result records about the task: its hash, few-shot settings, failed extractions."""
    info: dict[str, Any] = {
        "task_hash": task.hash,
        "fewshot": {"k": task.shots, "seed": task.fewshot_seed, "split": task.fewshot_split},
    }
    if task.spec is not None and task.kind == "generate":
        info["extract_failed"] = sum(not s.get("extracted", True) for s in samples)
    return info


def demos(task: Task) -> list[Any]:
    from lmforge.prompting.templates import Demo  # late: prompting pulls in the backends

    return [Demo(user_text(task, d, True), target_text(d), d.get("rationale")) for d in pool(task)]


def to_sft(task: Task, path: Path) -> int:
    """Write the few-shot split as `{"messages": [user, assistant]}` lines; the count.

    Refused when the demonstrations are the evaluated examples themselves: training on them
    would make the evaluation meaningless.
    """
    if task.fewshot is None:
        raise LmforgeError(
            f"task {task.name} has no training split: its demonstrations are its test examples.",
            "Give the task a `train` (or `validation`) data file, or set `fewshot.split`.",
        )
    if not task.fewshot:
        raise LmforgeError(f"task {task.name}'s few-shot split {task.fewshot_split} is empty.")
    records = [
        {"id": d["id"], "lang": d["lang"], "messages": [
            {"role": "user", "content": user_text(task, d, True)},
            {"role": "assistant", "content": target_text(d)},
        ]}
        for d in task.fewshot
    ]  # fmt: skip
    return write_jsonl(path, records)
