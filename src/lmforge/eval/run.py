"""`lmforge eval`: score a model on tasks; write results, per-example samples and a manifest.

Generation tasks are answered greedily in batches and matched against the answer (and its
aliases) or numerically; multiple-choice tasks compare the log-likelihood of each choice.
Each task reports its metrics overall and per language, next to the score of chance.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lmforge.errors import LmforgeError
from lmforge.eval.fewshot import (
    fewshot_for,
    score_generation,
    set_shots,
    task_info,
    task_prompt,
)
from lmforge.eval.models import is_local, open_model
from lmforge.eval.perplexity import run_rolling
from lmforge.eval.perplexity import task_summary as rolling_summary
from lmforge.eval.prompts import continuation_for
from lmforge.eval.report import write_report
from lmforge.eval.scoring import (
    answer_text,
    choice_predictions,
    exact_match,
    numeric_match,
)
from lmforge.eval.task import BUILTIN, DEFAULT_DATA, Task, load_task
from lmforge.jsonl import write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

Advance = Callable[[float], object]


def evaluate(
    model: Path,
    tasks: list[str],
    out: Path | None = None,
    data: Path | None = None,
    chat_template: str = "auto",
    batch_size: int = 8,
    limit: int | None = None,
    max_new_tokens: int = 16,
    overwrite: bool = False,
    show_progress: bool = True,
    shots: int | None = None,
    fewshot_seed: int | None = None,
) -> dict[str, Any]:
    """Evaluate the model directory `model` on `tasks` (names, .jsonl or .yaml paths).

    `max_new_tokens` bounds generation; a task that needs longer answers (lab-arith's
    scratchpads) gets at least its own `Task.max_new_tokens`; a YAML task gets exactly its
    own. `shots` / `fewshot_seed` override each task's few-shot settings (`eval.fewshot`).
    """
    _check_options(tasks, batch_size, limit, max_new_tokens)
    loaded = [load_task(name, data) for name in dict.fromkeys(tasks)]
    for task in loaded:
        set_shots(task, shots, fewshot_seed)
    if out is not None:
        out = prepare_out_dir(out, overwrite=overwrite)
    scored_model, chat, reason = open_model(model, chat_template, loaded)
    results: dict[str, Any] = {
        "model": str(model),
        "chat_template": chat,
        "chat_template_reason": reason,
        "tasks": {},
    }
    samples: list[dict[str, Any]] = []
    with _progress_bar(show_progress) as start_task:
        for task in loaded:
            examples = task.examples[:limit]
            advance = start_task(task.name, len(examples))
            summary, task_samples = run_task(
                scored_model, task, examples, chat, batch_size, max_new_tokens, advance
            )
            results["tasks"][task.name] = summary
            samples.extend(task_samples)
    if out is not None:
        config = {
            "tasks": list(dict.fromkeys(tasks)),
            "chat_template": chat_template,
            "batch_size": batch_size,
            "limit": limit,
            "max_new_tokens": max_new_tokens,
            "shots": {t.name: t.shots for t in loaded},
            "fewshot_seed": {t.name: t.fewshot_seed for t in loaded},
        }
        write_results(out, results, samples, config, _inputs(model, data, loaded))
    return results


def _check_options(tasks: list[str], batch_size: int, limit: int | None, max_new: int) -> None:
    if not tasks:
        raise LmforgeError("no tasks given.", f"Name one or more of {', '.join(BUILTIN)}.")
    if batch_size < 1:
        raise LmforgeError(f"batch size {batch_size} is less than 1.", "Use 1 or more.")
    if limit is not None and limit < 1:
        raise LmforgeError(f"limit {limit} is less than 1.", "Use 1 or more, or no limit.")
    if max_new < 1:
        raise LmforgeError(f"max_new_tokens {max_new} is less than 1.", "Use 1 or more.")


def run_task(model, task: Task, examples, chat: bool, batch_size, max_new, advance):
    """(summary, samples) of one task on `examples`; `model` is an `eval.models` model."""
    if task.kind == "multiple_choice":
        samples = _run_multiple_choice(model, task, examples, chat, batch_size, advance)
        return summarize(task, samples), samples
    if task.kind == "loglikelihood_rolling":  # perplexity: corpus sums, not means of samples
        samples = run_rolling(model.lm, model.tokenizer, task, examples, batch_size, advance)
        return {**rolling_summary(task, samples), **task_info(task, samples)}, samples
    max_new = task.max_new_tokens if task.spec else max(max_new, task.max_new_tokens or 0)
    samples = _run_generate(model, task, examples, chat, batch_size, max_new, advance)
    return {**summarize(task, samples), "max_new_tokens": max_new}, samples


def _run_generate(model, task: Task, examples, chat, batch_size, max_new, advance):
    tokenizer = model.tokenizer
    prompts = [task_prompt(task, e, chat, tokenizer, messages=True) for e in examples]
    outputs = model.generate(prompts, max_new, batch_size, advance)
    samples = []
    for example, output in zip(examples, outputs, strict=True):
        if task.spec is not None:  # a YAML task: its stop strings, extractor and metrics
            scored = score_generation(task, example, output)
            head = _sample_head(task, example, chat, tokenizer)
            samples.append({**head, "target": example["answer"], "output": output, **scored})
            continue
        prediction = answer_text(output, task.answer_match)
        if task.answer_match == "numeric":
            correct = numeric_match(prediction, example["answer"])
        else:
            correct = exact_match(prediction, [example["answer"], *example["aliases"]])
        samples.append({
            **_sample_head(task, example, chat, tokenizer),
            "target": example["answer"],
            "output": output,
            "prediction": prediction,
            "correct": correct,
            "scores": {"exact_match": float(correct)},
        })  # fmt: skip
    return samples


def _run_multiple_choice(model, task: Task, examples, chat, batch_size, advance):
    tokenizer = model.tokenizer
    prompts = [task_prompt(task, e, chat, tokenizer) for e in examples]
    requests, owner = [], []
    for n, (example, prompt) in enumerate(zip(examples, prompts, strict=True)):
        for choice in example["choices"]:
            requests.append(
                (prompt, continuation_for(choice, chat, task.target_delimiter, tokenizer, example))
            )
            owner.append(n)

    def done(indices: list[int]) -> None:
        advance(sum(1 / len(examples[owner[i]]["choices"]) for i in indices))

    scored = iter(model.loglikelihoods(requests, batch_size, done))
    samples = []
    for example, prompt in zip(examples, prompts, strict=True):
        logliks = [next(scored)[0] for _ in example["choices"]]
        picked = choice_predictions(logliks, example["choices"])
        best, best_norm, label = picked["acc"], picked["acc_norm"], example["label"]
        samples.append({
            **_sample_head(task, example, chat, tokenizer, prompt),
            "target": label,
            "choices": example["choices"],
            "logliks": logliks,
            "prediction": best,
            "prediction_norm": best_norm,
            "correct": best == label,
            "scores": {metric: float(choice == label) for metric, choice in picked.items()},
        })  # fmt: skip
    return samples


def _sample_head(task: Task, example, chat: bool, tokenizer, prompt: str | None = None):
    if prompt is None and chat and tokenizer is None:  # a chat API: the messages it was sent
        prompt = json.dumps(
            task_prompt(task, example, chat, None, messages=True), ensure_ascii=False
        )
    elif prompt is None:
        prompt = task_prompt(task, example, chat, tokenizer)
    head = {"task": task.name, "id": example["id"], "lang": example["lang"], "prompt": prompt}
    if task.shots:
        head["fewshot_ids"] = [d["id"] for d in fewshot_for(task, example)]
    return head


def summarize(task: Task, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over the samples, overall and per language."""
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_lang[sample["lang"]].append(sample)
    return {
        "kind": task.kind,
        "n": len(samples),
        "metrics": _means(task.metrics, samples),
        "chance": task.chance,
        "by_lang": {lang: _means(task.metrics, group) for lang, group in sorted(by_lang.items())},
        **task_info(task, samples),
    }


def _means(metrics: tuple[str, ...], samples: list[dict[str, Any]]) -> dict[str, float]:
    n = max(len(samples), 1)
    return {m: sum(s["scores"][m] for s in samples) / n for m in metrics}


def _inputs(model: Path, data: Path | None, tasks: list[Task]) -> dict[str, Path]:
    # a backend spec (openai/...) is no path: it is in results.json's "model", not hashed here
    inputs: dict[str, Path] = {"model": Path(model)} if is_local(model) else {}
    if any(t.name in BUILTIN for t in tasks):
        inputs["data"] = Path(data) if data is not None else DEFAULT_DATA
    for task in tasks:
        if task.name not in BUILTIN and task.source is not None:
            inputs[f"task:{task.name}"] = task.source
        for split, path in task.files.items():  # a YAML task's data files
            inputs[f"task:{task.name}:{split}"] = path
    return inputs


def write_results(out: Path, results, samples, config, inputs: dict[str, Path]) -> None:
    """results.json, samples.jsonl, report.html + summary.md, then the manifest (finished)."""
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out / "results.json")
    write_jsonl(out / "samples.jsonl", samples)
    write_report([out], out)  # report.html + summary.md, before the manifest marks it finished
    metrics = {name: r["metrics"] for name, r in results["tasks"].items()}
    write_manifest(
        out, "eval", {**config, "chat_template_used": results["chat_template"]}, inputs, metrics
    )


@contextmanager
def _progress_bar(show: bool):
    """Yields `start_task(name, total) -> advance(amount)` over a rich progress bar."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show, transient=False) as progress:

        def start_task(name: str, total: int) -> Advance:
            task_id = progress.add_task(f"eval {name}", total=total)
            return lambda amount: progress.advance(task_id, amount)

        yield start_task
