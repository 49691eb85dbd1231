"""Scoring a prompting strategy on an eval task: `lmforge prompt run` / `prompt render`.

Demonstrations come from the lab's arithmetic training set (with its scratchpads as
rationales) for lab-arith, and otherwise from the task's other examples (never the question
itself). Answers are matched as `lmforge eval` matches them; an unparsed answer is wrong.
Writes results.json, traces.jsonl (every prompt and reply of every example) and the manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

from lmforge.errors import LmforgeError
from lmforge.eval.scoring import exact_match, numeric_match
from lmforge.eval.task import BUILTIN, DEFAULT_DATA, Task, load_task
from lmforge.infer.backends import CachedBackend, load_backend
from lmforge.infer.backends.base import Backend, Prompt
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.prompting.retrieval import TextRetriever, task_evidence
from lmforge.prompting.selection import make_selector
from lmforge.prompting.strategies import USES_DEMOS, make_strategy
from lmforge.prompting.strategies.base import Strategy
from lmforge.prompting.templates import Demo
from lmforge.runs import prepare_out_dir, write_manifest


def demo_pool(task: Task, data: Path | None) -> list[Demo]:
    if task.name == "lab-arith":
        path = Path(data if data is not None else DEFAULT_DATA) / "arith" / "train.jsonl"
        records = read_jsonl(path, required=("question", "answer"))
        return [Demo(r["question"], str(r["answer"]), r.get("scratchpad")) for r in records]
    return [Demo(e["question"], e["answer"], e.get("rationale")) for e in task.examples]


def build_strategy(
    name: str, backend: Backend, task: Task, data: Path | None, shots: int = 0,
    selection: str = "random", seed: int = 0, mode: str = "auto", samples: int = 5, *,
    embedder: str = "tfidf", evidence: Path | None = None, threshold: float = 0.5,
) -> Strategy:  # fmt: skip
    """The named strategy set up for `task` on `backend`; `embedder` serves knn selection and
    the evidence retriever of `ve` (its `evidence` file, or lab-qa's own documents)."""
    if task.kind != "generate":
        raise LmforgeError(
            f"task {task.name} is multiple choice; prompting strategies answer generation tasks.",
            "Use lab-qa, lab-arith or a .jsonl file of questions with answers.",
        )
    settings: dict[str, Any] = {"match": task.answer_match, "mode": resolve_mode(mode, backend)}
    if name in USES_DEMOS and shots > 0:
        pool = demo_pool(task, data)
        settings["select"] = make_selector(selection, pool, shots, seed, embedder)
    elif shots > 0:
        raise LmforgeError(f"strategy {name} takes no demonstrations.", "Use --shots 0.")
    if name in ("sc", "ve"):
        settings |= {"samples": samples, "seed": seed}
    if name == "ve":
        passages = task_evidence(task.name, data, evidence)
        settings |= {"retriever": TextRetriever(passages, embedder), "threshold": threshold}
    elif evidence is not None:
        raise LmforgeError(f"strategy {name} takes no evidence.", "Use --evidence with ve only.")
    return make_strategy(name, **settings)


def resolve_mode(mode: str, backend: Backend) -> str:
    if mode != "auto":
        return mode
    prefers = getattr(backend, "prefers_chat", None)
    if prefers is not None:
        return "chat" if prefers() else "completion"
    return "chat" if "chat" in backend.capabilities else "completion"


class _Captured(Exception):
    def __init__(self, prompt: Prompt) -> None:
        self.prompt = prompt


class _FirstPrompt(Backend):
    """Counts tokens like the real backend, but stops at the first prompt a strategy sends."""

    def __init__(self, backend: Backend) -> None:
        self.inner = backend
        self.capabilities = backend.capabilities
        self.context_window = backend.context_window

    def count_tokens(self, prompt: Prompt) -> int | None:
        return self.inner.count_tokens(prompt)

    def _generate(self, prompt: Prompt, options: dict[str, Any]):
        raise _Captured(prompt)


def first_prompt(strategy: Strategy, backend: Backend, example: dict[str, Any]) -> Prompt:
    """The exact first prompt `strategy` sends for `example` (no model call is made)."""
    try:
        strategy.run(_FirstPrompt(backend), example)
    except _Captured as captured:
        return captured.prompt
    raise LmforgeError("the strategy sent no prompt.")


def run_prompting(
    model: str, task_name: str, out: Path, strategy: str = "direct", data: Path | None = None,
    shots: int = 0, samples: int = 5, limit: int | None = None, selection: str = "random",
    seed: int = 0, mode: str = "auto", cache: Path | None = None, overwrite: bool = False,
    backend: Backend | None = None, embedder: str = "tfidf", evidence: Path | None = None,
    threshold: float = 0.5,
) -> dict[str, Any]:  # fmt: skip
    """Run `strategy` on the first `limit` examples of the task; write results and traces."""
    task = load_task(task_name, data)
    out = prepare_out_dir(out, overwrite=overwrite)
    backend = backend or load_backend(model)
    if cache is not None:
        backend = CachedBackend(backend, cache)
    chosen = build_strategy(
        strategy, backend, task, data, shots, selection, seed, mode, samples,
        embedder=embedder, evidence=evidence, threshold=threshold,
    )  # fmt: skip
    examples = track(task.examples[:limit], f"prompt {strategy}", console=Console(stderr=True))
    traces = [trace_example(chosen, backend, task, e) for e in examples]
    results = _summary(model, task, strategy, chosen, shots, traces)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_jsonl(out / "traces.jsonl", traces)
    config = {"task": task_name, "strategy": strategy, "shots": shots, "samples": samples}
    config |= {"limit": limit, "selection": selection, "seed": seed, "mode": chosen.mode}
    config["embedder"] = embedder
    if strategy == "ve":
        config |= {"threshold": threshold, "evidence_passages": len(chosen.retriever)}
    inputs = run_inputs(model, task, data) | ({"evidence": Path(evidence)} if evidence else {})
    write_manifest(out, "prompt-run", config, inputs, results["metrics"])
    return results


def trace_example(strategy: Strategy, backend: Backend, task: Task, example: dict[str, Any]):
    answer = strategy.run(backend, example)
    target = example["answer"]
    if answer.answer is None:
        correct = False
    elif task.answer_match == "numeric":
        correct = numeric_match(answer.answer, target)
    else:
        correct = exact_match(answer.answer, [target, *example.get("aliases", [])])
    return {"id": example["id"], "lang": example["lang"], "question": example["question"],
            "target": target, "correct": correct, **answer.to_json()}  # fmt: skip


def _summary(model, task: Task, name: str, strategy: Strategy, shots: int, traces) -> dict:
    n = max(len(traces), 1)
    confidences = [t["confidence"] for t in traces if t["confidence"] is not None]
    metrics = {
        "accuracy": sum(t["correct"] for t in traces) / n,
        "unparsed": sum(t["unparsed"] for t in traces) / n,
        "calls_per_example": sum(len(t["steps"]) for t in traces) / n,
    }
    if confidences:
        metrics["mean_confidence"] = sum(confidences) / len(confidences)
    head = {"model": str(model), "task": task.name, "strategy": name, "mode": strategy.mode}
    return {**head, "shots": shots, "n": len(traces), "chance": task.chance, "metrics": metrics}


def run_inputs(model: str, task: Task, data: Path | None) -> dict[str, Path]:
    inputs: dict[str, Path] = {}
    if os.path.isdir(model):
        inputs["model"] = Path(model)
    if task.name in BUILTIN:
        inputs["data"] = Path(data) if data is not None else DEFAULT_DATA
    elif task.source is not None:
        inputs["task"] = task.source
    return inputs
