"""lmforge eval vs lm-evaluation-harness: same model, multiple-choice task and batch size.

Targets: wall-time ratio lmforge / lm-eval ≤ 1.0 and score difference 0. The model is built by
`lmforge model init` (`--size`) for a tokenizer trained on a lab world; the task is the lab
world's held-out multiple-choice questions (`eval/mc.jsonl`, English and Korean), which
lmforge reads as a JSONL task and lm-eval through a task YAML (`dataset_path: json`, the same
file, `doc_to_text: "Question: {{question}}\\nAnswer:"`, target delimiter " "). Both run on
CPU in fp32 with `--batch-size`; lm-eval offline (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE).

Two timings, each the best of `--repeats` interleaved runs:
- end to end: `lmforge.eval.evaluate` vs `lm_eval.simple_evaluate(model="hf")`, model loading
  and task building included (what a user waits for);
- scoring only: the log-likelihood requests of the task, already built, through
  `eval.scoring.loglikelihoods` vs lm-eval's `HFLM.loglikelihood` (model already loaded).
Score difference: |acc| and |acc_norm| between the two, and the largest per-choice
log-likelihood difference.

Run: `python benchmarks/eval_vs_lm_eval.py [--size small] [--batch-size 8] [--limit 400]`
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from lmforge.models.init import SIZES

YAML = """\
task: lab_mc
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}}}, cache_dir: {cache}}}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list: [{{metric: acc}}, {{metric: acc_norm}}]
"""


def prepare(work: Path, lab: Path | None, size: str, vocab: int, limit: int) -> tuple[Path, Path]:
    """(model directory, task directory holding mc.jsonl and lab_mc.yaml)."""
    from lmforge.lab.generate import generate_lab
    from lmforge.models.init import init_model
    from lmforge.tokenizer.train import train_tokenizer

    if lab is None:
        lab = work / "lab"
        generate_lab(lab, seed=0, size="small")
    train_tokenizer([lab / "raw"], work / "tokenizer", vocab_size=vocab)
    init_model(work / "tokenizer", work / "model", size=size, seed=0)
    tasks = work / "tasks"
    tasks.mkdir()
    lines = (lab / "eval" / "mc.jsonl").read_text(encoding="utf-8").splitlines()[:limit]
    (tasks / "mc.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    yaml = YAML.format(data=json.dumps(str(tasks / "mc.jsonl")), cache=json.dumps(str(work / "c")))
    (tasks / "lab_mc.yaml").write_text(yaml, encoding="utf-8")
    return work / "model", tasks


def lmforge_run(model: Path, tasks: Path, batch: int) -> tuple[float, dict, list[list[float]]]:
    from lmforge.eval import evaluate

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        results = evaluate(model, [str(tasks / "mc.jsonl")], Path(out) / "r", chat_template="off",
                           batch_size=batch, show_progress=False)  # fmt: skip
        seconds = time.perf_counter() - start
        rows = [json.loads(line) for line in (Path(out) / "r" / "samples.jsonl").open()]
    return seconds, results["tasks"]["mc"]["metrics"], [r["logliks"] for r in rows]


def lm_eval_run(model: Path, tasks: Path, batch: int) -> tuple[float, dict, list[list[float]]]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    results = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["lab_mc"],
        task_manager=TaskManager(include_path=str(tasks), include_defaults=False),
        batch_size=batch, device="cpu", log_samples=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    metrics = {m: results["results"]["lab_mc"][f"{m},none"] for m in ("acc", "acc_norm")}
    samples = sorted(results["samples"]["lab_mc"], key=lambda s: s["doc_id"])
    return seconds, metrics, [[r[0][0] for r in s["resps"]] for s in samples]


def scoring_only(model: Path, tasks: Path, batch: int, repeats: int) -> tuple[float, float]:
    """Best seconds of (lmforge loglikelihoods, HFLM.loglikelihood) on the same requests."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from lmforge.eval.scoring import loglikelihoods
    from lmforge.models.io import load_model

    records = [json.loads(line) for line in (tasks / "mc.jsonl").open()]
    pairs = [
        (f"Question: {r['question']}\nAnswer:", f" {c}") for r in records for c in r["choices"]
    ]
    instances = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    lm, tokenizer = load_model(model)
    hflm = HFLM(pretrained=lm, tokenizer=tokenizer, batch_size=batch, device="cpu")
    ours, theirs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        loglikelihoods(lm, tokenizer, pairs, batch)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        hflm.loglikelihood(instances, disable_tqdm=True)
        theirs.append(time.perf_counter() - start)
    return min(ours), min(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=list(SIZES))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=400, help="questions from the lab's mc")
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--lab", type=Path, help="a lab world directory (default: generate one)")
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        model, tasks = prepare(Path(tmp), args.lab, args.size, args.vocab, args.limit)
        ours, theirs = [], []
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits both
            ours.append(lmforge_run(model, tasks, args.batch_size))
            theirs.append(lm_eval_run(model, tasks, args.batch_size))
        score_ours, score_theirs = scoring_only(model, tasks, args.batch_size, args.repeats)
    (t_ours, m_ours, ll_ours), (t_theirs, m_theirs, ll_theirs) = ours[-1], theirs[-1]
    t_ours, t_theirs = min(r[0] for r in ours), min(r[0] for r in theirs)
    diff = max(abs(a - b) for x, y in zip(ll_ours, ll_theirs, strict=True)
               for a, b in zip(x, y, strict=True))  # fmt: skip
    n_choices = sum(len(x) for x in ll_ours)
    print(f"\nmodel: {args.size}, {len(ll_ours)} questions ({n_choices} choices), "
          f"batch size {args.batch_size}, torch threads {torch.get_num_threads()}")  # fmt: skip
    print(f"{'':24}{'lmforge':>10}{'lm-eval':>10}{'ratio':>8}")
    print(f"{'end to end (s)':24}{t_ours:10.2f}{t_theirs:10.2f}{t_ours / t_theirs:8.3f}")
    print(f"{'scoring only (s)':24}{score_ours:10.2f}{score_theirs:10.2f}"
          f"{score_ours / score_theirs:8.3f}")  # fmt: skip
    for metric in ("acc", "acc_norm"):
        print(f"{metric:24}{m_ours[metric]:10.4f}{m_theirs[metric]:10.4f}"
              f"{abs(m_ours[metric] - m_theirs[metric]):8.4f}")  # fmt: skip
    print(f"largest per-choice log-likelihood difference: {diff:.2e}")
    print("targets: ratio ≤ 1.0, score difference 0")


if __name__ == "__main__":
    main()
