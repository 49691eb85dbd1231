"""Prompting strategies on the lab tasks: accuracy of each, from `lmforge prompt run`'s code.

On lab-arith and lab-qa: direct, zero-shot CoT, few-shot CoT, self-consistency with 1, 5
and 10 samples, and least-to-most. Each row is `prompting.run.run_prompting` (the scoring of
`lmforge prompt run`, answers matched as `lmforge eval` matches them) on the first `--limit`
examples, with one model loaded once. Few-shot strategies take `--shots` demonstrations
(lab-arith: scratchpads of arith/train.jsonl; lab-qa: other questions of the task).
Direct answering is the baseline the other rows are read against; "unparsed" is the share
of replies with no answer in them (counted wrong).

Run: `OMP_NUM_THREADS=1 python benchmarks/strategies.py --model quickstart/sft --data
quickstart/lab [--limit 100] [--shots 3]`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.infer.backends import load_backend
from lmforge.prompting.run import run_prompting

# (row label, strategy name, uses demonstrations, self-consistency samples)
ROWS = [
    ("direct", "direct", False, 5),
    ("zero-shot CoT", "cot", False, 5),
    ("few-shot CoT", "fewshot-cot", True, 5),
    ("self-consistency n=1", "sc", True, 1),
    ("self-consistency n=5", "sc", True, 5),
    ("self-consistency n=10", "sc", True, 10),
    ("least-to-most", "l2m", False, 5),
]
TASKS = ("lab-arith", "lab-qa")


def score(backend, model: str, task: str, data: Path, row, args) -> dict:
    """`prompt run`'s results, or {"error": ...} when the strategy cannot run on this model."""
    _label, strategy, demos, samples = row
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        try:
            results = run_prompting(
                model, task, Path(tmp) / "out", strategy, data, shots=args.shots if demos else 0,
                samples=samples, limit=args.limit, seed=args.seed, backend=backend,
            )  # fmt: skip
        except LmforgeError as e:  # e.g. a reasoning chain that overflows a small context
            return {"error": str(e), "seconds": time.perf_counter() - start}
        results["seconds"] = time.perf_counter() - start
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="Model directory (e.g. quickstart/sft).")
    parser.add_argument("--data", type=Path, default=Path("lab"), help="Lab world directory.")
    parser.add_argument("--limit", type=int, default=100, help="Examples per task.")
    parser.add_argument("--shots", type=int, default=3, help="Demonstrations (few-shot rows).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    args = parser.parse_args()

    backend = load_backend(args.model)
    table = {(task, row[0]): score(backend, args.model, task, args.data, row, args)
             for task in args.tasks for row in ROWS}  # fmt: skip
    mode = next((r["mode"] for r in table.values() if "mode" in r), "?")
    print(f"model: {args.model}, mode {mode}, limit {args.limit}, shots {args.shots}, "
          f"seed {args.seed}\n")  # fmt: skip
    head = " | ".join(f"{t} acc | unparsed | calls/ex" for t in args.tasks)
    print(f"| strategy | {head} | seconds |")
    print("|---|" + "---:|" * (3 * len(args.tasks) + 1))
    for label, *_ in ROWS:
        cells, seconds = [], 0.0
        for task in args.tasks:
            result = table[(task, label)]
            seconds += result["seconds"]
            if "error" in result:
                cells += ["error", "", ""]
                continue
            m = result["metrics"]
            cells += [f"{m['accuracy']:.3f}", f"{m['unparsed']:.3f}",
                      f"{m['calls_per_example']:.1f}"]  # fmt: skip
        print(f"| {label} | {' | '.join(cells)} | {seconds:.0f} |")
    for task in args.tasks:
        direct = table[(task, "direct")]
        ratios = ", ".join(f"{label} {_ratio(table[(task, label)], direct)}"
                           for label, *_ in ROWS[1:])  # fmt: skip
        print(f"\n{task}: n = {direct.get('n')}, ratios to direct: {ratios}")
    for (task, label), result in table.items():
        if "error" in result:
            print(f"\nerror, {task} {label}: {result['error']}")


def _ratio(result: dict, direct: dict) -> str:
    if "error" in result or "error" in direct:
        return "n/a"
    base = direct["metrics"]["accuracy"]
    return f"{result['metrics']['accuracy'] / base:.2f}×" if base > 0 else "n/a (direct 0)"


if __name__ == "__main__":
    main()
