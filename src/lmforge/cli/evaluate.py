"""`lmforge eval`: score a model on tasks; `eval <subcommand>` for judging, comparing and more.

`lmforge eval --model M --tasks a,b` runs the group's callback (no subcommand); each further
command (judge, compare, contamination, ...) registers itself on `app` in this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lmforge.cli.options import Overwrite
from lmforge.errors import LmforgeError

app = typer.Typer(
    help="Evaluate a model on tasks, or judge, compare and check results (subcommands).",
    invoke_without_command=True,
)


@app.callback()
def eval_command(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model directory to evaluate.")
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--tasks",
            "--task",
            "-t",
            help="lab-qa, lab-mc, lab-arith, a .jsonl or a task .yaml file; repeat or "
            "comma-separate.",
        ),
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Lab world directory for lab tasks.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write results here.")] = None,
    chat_template: Annotated[str, typer.Option(help="auto | on | off.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
    shots: Annotated[
        int | None, typer.Option(help="Few-shot demonstrations per prompt (default: the task's).")
    ] = None,
    fewshot_seed: Annotated[
        int | None, typer.Option(help="Seed drawing the demonstrations (default: the task's).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Evaluate: exact match on short answers, log-likelihood accuracy on multiple choice."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None or not task:
        raise LmforgeError("lmforge eval needs --model and --tasks.", "See lmforge eval --help.")
    task = [name.strip() for item in task for name in item.split(",") if name.strip()]
    from lmforge.eval.run import evaluate

    results = evaluate(
        model, task, out, data=data, chat_template=chat_template, batch_size=batch_size,
        limit=limit, overwrite=overwrite, shots=shots, fewshot_seed=fewshot_seed,
    )  # fmt: skip
    table = Table(title=f"{model} (chat template {'on' if results['chat_template'] else 'off'})")
    for column in ("task", "n", "metric", "score", "chance"):
        table.add_column(column)
    for name, result in results["tasks"].items():
        for metric, value in result["metrics"].items():
            table.add_row(name, str(result["n"]), metric, f"{value:.3f}", f"{result['chance']:.3f}")
    Console().print(table)
    if out is not None:
        typer.echo(f"Wrote {out}/results.json, samples.jsonl, report.html and summary.md")


@app.command("judge")
def judge(
    judge: Annotated[
        str, typer.Option("--judge", help="Judge: a model directory, openai/<model> or scripted.")
    ],
    answers: Annotated[
        Path,
        typer.Option(
            "--answers",
            help="JSONL of {id, question, answer, [reference], [context]} (scored) or "
            "{id, question, answer_a, answer_b} (pairwise).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Write judgments here.")],
    criteria: Annotated[
        list[str] | None,
        typer.Option(
            "--criteria",
            help="coherence, consistency, fluency, relevance, faithfulness, helpfulness or a "
            "YAML/JSON file of custom ones; repeat or comma-separate.",
        ),
    ] = None,
    gold: Annotated[
        Path | None, typer.Option(help="Human labels (JSONL) to report the judge's agreement.")
    ] = None,
    mode: Annotated[str, typer.Option(help="auto | chat | completion.")] = "auto",
    scoring: Annotated[
        str, typer.Option(help="auto | logprobs (needs log-likelihoods) | generate.")
    ] = "auto",
    samples: Annotated[int, typer.Option(help="Replies per score when generating.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for sampled replies.")] = 0,
    steps_max_tokens: Annotated[
        int, typer.Option(help="Longest evaluation steps the judge writes per criterion.")
    ] = 256,
    cache: Annotated[Path | None, typer.Option(help="Cache deterministic calls here.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Judge answers: G-Eval scores per criterion, or pairwise verdicts with position swap."""
    import json

    from lmforge.eval.judge import judge_answers

    names = [n.strip() for item in criteria or [] for n in item.split(",") if n.strip()]
    summary = judge_answers(
        judge, answers, out, names or None, gold, mode, scoring, samples, seed,
        steps_max_tokens, cache, overwrite,
    )  # fmt: skip
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "judge"}, indent=2))
    typer.echo(f"Wrote {out}/judgments.jsonl and summary.json")


@app.command("compare")
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Results directories (eval or eval judge).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the comparison here.")],
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Compare runs: leaderboard with bootstrap intervals, report.html and summary.md."""
    from lmforge.eval.report import compare_runs

    compare_runs(runs, out, title, overwrite)
    typer.echo((out / "summary.md").read_text(encoding="utf-8"))
    typer.echo(f"Wrote {out}/report.html, summary.md and comparison.json")


@app.command("report")
def report(
    runs: Annotated[list[Path], typer.Argument(help="Results directories (eval or eval judge).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write (default: the run's dir).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
) -> None:
    """(Re)write report.html and summary.md for results directories."""
    from lmforge.eval.report import write_report

    if out is None and len(runs) > 1:
        raise LmforgeError("several runs need --out for their report.", "Or use eval compare.")
    target = out if out is not None else runs[0]
    target.mkdir(parents=True, exist_ok=True)
    write_report(runs, target, title)
    typer.echo(f"Wrote {target}/report.html and summary.md")


@app.command("contamination")
def contamination(
    task: Annotated[str, typer.Option("--task", "-t", help="Task: lab name, .jsonl or .yaml.")],
    corpus: Annotated[
        list[Path],
        typer.Option(help="Curated directory or JSONL files/directories; repeat for several."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the report and clean subset here.")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Lab world directory for lab tasks.")] = None,
    n: Annotated[int, typer.Option("--n", help="Words per n-gram (GPT-3: 13).")] = 13,
    min_n: Annotated[int, typer.Option(help="n-gram size for examples shorter than n.")] = 8,
    threshold: Annotated[
        float, typer.Option(help="Flag at this share of shared n-grams (0: any shared one).")
    ] = 0.0,
    overwrite: Overwrite = False,
) -> None:
    """N-gram overlap of a task's examples with a training corpus; flagged and clean subsets."""
    from lmforge.eval.contamination import check_contamination

    report = check_contamination(
        task, corpus, out, data=data, n=n, min_n=min_n, threshold=threshold, overwrite=overwrite
    )
    table = Table(title=f"{report['task']}: {report['flagged']} of {report['examples']} flagged")
    for column in ("id", "lang", "n", "overlap", "corpus documents"):
        table.add_column(column)
    for row in [r for r in report["rows"] if r["flagged"]][:20]:
        table.add_row(row["id"], row["lang"], str(row["n"]), f"{row['overlap']:.2f}",
                      ", ".join(row["docs"]))  # fmt: skip
    Console().print(table)
    if out is not None:
        typer.echo(f"Wrote {out}/contamination.json, flagged.jsonl and clean.jsonl")


@app.command("perplexity")
def perplexity(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory.")],
    text: Annotated[
        Path, typer.Option("--text", help="Text file (one document) or JSONL with 'text'.")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write results here.")] = None,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 8,
    max_length: Annotated[
        int | None, typer.Option(help="Tokens per window (default: the model's context).")
    ] = None,
    context_len: Annotated[
        int, typer.Option(help="Least context per window (1 = lm-eval's rolling windows).")
    ] = 1,
    overwrite: Overwrite = False,
) -> None:
    """Token, word and byte perplexity and bits per byte, with rolling windows (lm-eval's)."""
    from lmforge.eval.perplexity import METRICS
    from lmforge.eval.perplexity import perplexity as run

    results = run(model, text, out, batch_size, max_length, context_len, overwrite)
    table = Table(title=f"{model} on {text}: {results['documents']} documents")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("tokens", "words", "bytes"):
        table.add_row(key, str(results[key]))
    for metric in METRICS:
        table.add_row(metric, f"{results[metric]:.4f}")
    Console().print(table)


@app.command("code")
def code(
    model: Annotated[str, typer.Option("--model", "-m", help="Model directory or openai/<m>.")],
    problems: Annotated[
        Path, typer.Option(help="JSONL of HumanEval-style {prompt, test, entry_point}.")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write results here.")] = None,
    k: Annotated[str, typer.Option("--k", help="Comma-separated k of pass@k.")] = "1",
    n: Annotated[int | None, typer.Option("--n", help="Samples per problem (max k).")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0: greedy).")] = 0.8,
    max_tokens: Annotated[int, typer.Option(help="Longest completion in tokens.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the first problem's samples.")] = 0,
    weak_sandbox: Annotated[
        bool, typer.Option(help="Run the code with limits only (no namespaces): trusted code.")
    ] = False,
    overwrite: Overwrite = False,
) -> None:
    """pass@k: sample completions, run each with its tests in the sandbox (Chen et al.)."""
    import json

    from lmforge.eval.metrics import evaluate_code

    try:
        ks = [int(x) for x in k.split(",") if x.strip()]
    except ValueError:
        raise LmforgeError(f"--k {k!r} is not a comma-separated list of integers.") from None
    summary = evaluate_code(
        model, problems, out, ks, n, temperature, max_tokens, seed, weak_sandbox, overwrite
    )
    typer.echo(json.dumps(summary, indent=2))
