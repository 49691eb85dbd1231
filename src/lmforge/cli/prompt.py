"""`lmforge prompt render|run`: see the exact prompt of a strategy, or score it on a task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lmforge.cli.options import Out, Overwrite

app = typer.Typer(help="Prompting strategies: render a prompt, or score a strategy on a task.")

Model = Annotated[
    str, typer.Option("--model", "-m", help="Model directory, openai/<model> or scripted.")
]
TaskOpt = Annotated[str, typer.Option("--task", "-t", help="lab-qa, lab-arith or a .jsonl file.")]
Data = Annotated[Path | None, typer.Option(help="Lab world directory for lab tasks.")]
Strategy = Annotated[
    str, typer.Option(help="direct | cot | fewshot-cot | sc | l2m | ps | ps+ | ve.")
]
Shots = Annotated[
    int, typer.Option(help="Demonstrations per prompt (direct, fewshot-cot, sc, ve).")
]
Selection = Annotated[str, typer.Option(help="How demonstrations are chosen: random | knn.")]
Mode = Annotated[str, typer.Option(help="auto | chat | completion.")]
Seed = Annotated[int, typer.Option(help="Seed for demonstration choice and sampling.")]
Embedder = Annotated[
    str, typer.Option(help="For knn selection and ve's evidence search: tfidf | minilm | DIR.")
]
Evidence = Annotated[
    Path | None,
    typer.Option(help="ve: evidence .jsonl ('text') / .txt / .md; lab-qa: the lab's documents."),
]


def render(
    model: Model,
    task: TaskOpt,
    data: Data = None,
    strategy: Strategy = "direct",
    shots: Shots = 0,
    index: Annotated[int, typer.Option(help="Which example of the task.")] = 0,
    selection: Selection = "random",
    mode: Mode = "auto",
    seed: Seed = 0,
    embedder: Embedder = "tfidf",
    evidence: Evidence = None,
) -> None:
    """Print the exact first prompt the strategy sends for one example."""
    from lmforge.errors import LmforgeError
    from lmforge.eval.task import load_task
    from lmforge.infer.backends import load_backend
    from lmforge.prompting.run import build_strategy, first_prompt

    loaded = load_task(task, data)
    if not 0 <= index < len(loaded):
        raise LmforgeError(f"index {index} is outside the task's {len(loaded)} examples.")
    backend = load_backend(model)
    chosen = build_strategy(
        strategy, backend, loaded, data, shots, selection, seed, mode,
        embedder=embedder, evidence=evidence,
    )  # fmt: skip
    prompt = first_prompt(chosen, backend, loaded.examples[index])
    if isinstance(prompt, list):
        typer.echo(json.dumps(prompt, indent=2, ensure_ascii=False))
        text = backend.render(prompt)
        if text is not None:
            typer.echo("--- as the model sees it (chat template applied) ---")
            typer.echo(text)
    else:
        typer.echo(prompt)


def run(
    model: Model,
    task: TaskOpt,
    out: Out,
    data: Data = None,
    strategy: Strategy = "direct",
    shots: Shots = 0,
    samples: Annotated[int, typer.Option(help="Samples for self-consistency (sc, ve).")] = 5,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
    selection: Selection = "random",
    mode: Mode = "auto",
    seed: Seed = 0,
    cache: Annotated[Path | None, typer.Option(help="Cache deterministic calls here.")] = None,
    overwrite: Overwrite = False,
    embedder: Embedder = "tfidf",
    evidence: Evidence = None,
    threshold: Annotated[
        float, typer.Option(help="ve: verify when the vote share is below this (0-1).")
    ] = 0.5,
) -> None:
    """Score a strategy on a task: results.json, traces.jsonl and a manifest in --out."""
    from lmforge.prompting.run import run_prompting

    results = run_prompting(
        model, task, out, strategy, data, shots, samples, limit, selection, seed, mode, cache,
        overwrite, embedder=embedder, evidence=evidence, threshold=threshold,
    )  # fmt: skip
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in results["metrics"].items())
    typer.echo(f"{results['task']} {strategy} ({results['n']} examples): {metrics}")
    typer.echo(f"Wrote {out}/results.json and traces.jsonl")


app.command("render")(render)
app.command("run")(run)


def self_instruct(
    model: Model,
    seed_tasks: Annotated[
        Path, typer.Option("--seed-tasks", help='JSONL of {"instruction", "input", "output"}.')
    ],
    out: Out,
    n: Annotated[int, typer.Option("--n", help="New instructions to keep.")] = 50,
    shots: Annotated[int, typer.Option(help="Tasks shown per generation prompt.")] = 8,
    similarity: Annotated[float, typer.Option(help="ROUGE-L F that counts as a duplicate.")] = 0.7,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Self-Instruct: new chat SFT data from seed tasks (data.jsonl, report.json)."""
    from lmforge.prompting.self_instruct import SelfInstructConfig, run_self_instruct

    config = SelfInstructConfig(
        shots=shots, similarity=similarity, temperature=temperature, seed=seed
    )
    report = run_self_instruct(model, seed_tasks, out, n, config, overwrite)
    dropped = ", ".join(f"{k} {v['count']}" for k, v in report["dropped"].items()) or "none"
    typer.echo(
        f"{report['generated']} instructions generated, {report['kept']} kept, "
        f"{report['records']} records; dropped: {dropped}"
    )
    typer.echo(f"Wrote {out}/data.jsonl (for lmforge sft) and report.json")


app.command("self-instruct")(self_instruct)


def evolve(
    model: Model,
    task: TaskOpt,
    out: Out,
    data: Data = None,
    population: Annotated[int, typer.Option(help="Units (task + mutation prompt).")] = 8,
    generations: Annotated[int, typer.Option(help="Rounds of binary tournaments.")] = 5,
    budget: Annotated[int, typer.Option(help="Most model calls in all.")] = 400,
    dev_size: Annotated[int, typer.Option(help="Dev examples that measure fitness.")] = 16,
    description: Annotated[
        str | None, typer.Option(help="Problem description (default: the task's).")
    ] = None,
    mode: Mode = "auto",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Promptbreeder: evolve a task prompt (evolve.json, history.jsonl)."""
    from lmforge.prompting.evolve import EvolveConfig, run_evolve

    config = EvolveConfig(
        population=population, generations=generations, budget=budget, dev_size=dev_size,
        seed=seed, mode=mode, description=description,
    )  # fmt: skip
    summary = run_evolve(model, task, out, config, data, overwrite)
    best, start = summary["best"], summary["start"]
    typer.echo(f"best prompt: {best['task_prompt']}")
    typer.echo(
        f"dev accuracy {best['fitness']:.3f} vs {start['fitness']:.3f} for the starting best "
        f"({summary['calls']} model calls, {summary['generations_run']} generations)"
    )
    typer.echo(f"Wrote {out}/evolve.json and history.jsonl")


app.command("evolve")(evolve)
