"""Tool use and RAG in the lab world: what a calculator and retrieval add to the quickstart model.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lab_tools_rag.py --workdir qs [--limit 60]

Models: the quickstart's SFT model (`qs/sft`) and a demo model tuned from it on the lab's
tool-use and reading chats (`--out`, default `qs/sft-tools`; made if missing: about 860
steps, 8 minutes on 2 CPU cores):
    lmforge sft --model qs/sft --data qs/lab/sft/train.jsonl --data qs/lab/sft/tools.jsonl \\
        --data qs/lab/sft/reading.jsonl --out qs/sft-tools --epochs 5 --lr 3e-3 \\
        --seq-len 128 --batch-size 16 --set warmup_steps=20
(sft/train.jsonl is replayed to limit forgetting; (c) measures what is lost). A workdir whose
lab predates those files gets them regenerated from its seed, languages and size.

(a) 4-digit arithmetic, the held-out questions of lab/arith/test.jsonl (first `--limit`):
    - direct: one chat turn, greedy, no tool;
    - calculator: the same model through `lmforge.agents.ReActAgent`, Toolformer inline
      protocol in chat mode, no system text: generation stops at the call, the calculator
      runs, ` → result]` is inserted and generation continues.
    Right when the reply's last integer is the answer. "calls" is the share of questions with
    a calculator call that ran, "exact call" the share whose call copied the question's
    expression exactly.
(b) The "new region" (lab/rag/qa.jsonl; its towns exist only in lab/rag/docs), by language:
    - no retrieval: the question alone;
    - hybrid / bm25: lab/rag/docs indexed with `lmforge.rag.Index` (MiniLM + BM25, chunks of
      at most 40 model tokens, i.e. about one article section), the top chunk, a blank line
      and the question in the user turn (the layout of sft/reading.jsonl);
    - rag ask: `Index.ask` (its numbered-sources prompt with rules, hybrid, k=1), as
      `lmforge rag ask` does it.
    Exact match with `lmforge eval`'s normalisation; "in chunk" is the share of questions
    whose top chunk contains the answer (the ceiling retrieval leaves).
(c) lab-qa exact match (`lmforge eval`), to see what the extra tuning costs in facts.
Prints markdown tables; `--json` also writes every figure.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from rich.progress import track

from lmforge.jsonl import read_jsonl
from lmforge.runs import MANIFEST, read_manifest

DEMO_FILES = ("sft/train.jsonl", "sft/tools.jsonl", "sft/reading.jsonl")
DEMO_SETTINGS = {
    "epochs": 5.0,
    "lr": 3e-3,
    "warmup_steps": 20,
    "seq_len": 128,
    "micro_batch_size": 16,
}
EXPRESSION = re.compile(r"(\d+ [+-] \d+)")
MODES = ("hybrid", "bm25")


def demo_data(lab: Path, scratch: Path) -> list[Path]:
    """The demo's SFT files: the lab's, or regenerated from its seed, languages and size."""
    if all((lab / f).exists() for f in DEMO_FILES):
        return [lab / f for f in DEMO_FILES]
    from lmforge.lab.generate import generate_lab

    info = json.loads((lab / "lab.json").read_text(encoding="utf-8"))
    fresh = scratch / "lab"
    generate_lab(fresh, info["seed"], tuple(info["langs"]), info["size"], overwrite=True)
    same = json.loads((fresh / "lab.json").read_text(encoding="utf-8"))["files"]
    for name in ("sft/train.jsonl", "arith/test.jsonl", "rag/qa.jsonl"):
        if same[name] != info["files"][name]:
            raise SystemExit(f"{lab} was made by another lab generator ({name} differs).")
    return [fresh / f for f in DEMO_FILES]


def demo_model(workdir: Path, out: Path) -> Path:
    """The quickstart's SFT model tuned on tool-use and reading chats (kept once made)."""
    if (out / MANIFEST).exists():
        print(f"reusing the demo model in {out}")
        return out
    from lmforge.train.config import TrainConfig
    from lmforge.train.sft import sft

    seed = (read_manifest(workdir / "lab") or {}).get("config", {}).get("seed", 0)
    config = TrainConfig(seed=seed, **DEMO_SETTINGS)
    with tempfile.TemporaryDirectory() as scratch:
        data = demo_data(workdir / "lab", Path(scratch))
        print(f"tuning {workdir / 'sft'} on {', '.join(DEMO_FILES)} -> {out}")
        sft(workdir / "sft", data, out, config, overwrite=True)
    return out


def chat(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _share(flags) -> float:
    flags = list(flags)
    return sum(map(bool, flags)) / len(flags) if flags else 0.0


def _by_lang(records: list[dict], columns: dict[str, list]) -> dict[str, dict]:
    """Each column's share of true values, over all records and per language."""
    rows = {}
    for lang in ("all", *sorted({r["lang"] for r in records})):
        picked = [i for i, r in enumerate(records) if lang in ("all", r["lang"])]
        rows[lang] = {"n": len(picked)}
        rows[lang] |= {name: _share(flags[i] for i in picked) for name, flags in columns.items()}
    return rows


def arith_part(backend, questions: list[dict]) -> dict:
    """Accuracy without and with the calculator."""
    from lmforge.agents import Budget, ReActAgent, load_tools
    from lmforge.eval.scoring import last_integer

    def right(text: str, q: dict) -> bool:
        return str(last_integer(text)) == q["answer"]

    start = time.perf_counter()
    direct = backend.generate_batch([chat(q["question"]) for q in questions], max_tokens=40)
    seconds = {"direct": time.perf_counter() - start}
    budget = Budget(max_steps=3, max_tokens=96, step_tokens=48)
    agent = ReActAgent(
        backend, load_tools("calculator"), budget, protocol="inline", mode="chat", instructions=""
    )
    answers, calls, exact, start = [], [], [], time.perf_counter()
    for q in track(questions, description="calculator"):
        result = agent.run(q["question"])
        answers.append(result.answer or "")
        ran = [e for e in result.observations() if e.data.get("ok")]
        calls.append(bool(ran))
        asked = [" ".join(e.data["call"]["args_text"].split()) for e in result.actions()]
        exact.append(EXPRESSION.search(q["question"]).group(1) in asked)
    seconds["calculator"] = time.perf_counter() - start
    columns = {
        "direct": [right(c.text, q) for c, q in zip(direct, questions, strict=True)],
        "calculator": [right(a, q) for a, q in zip(answers, questions, strict=True)],
        "calls": calls,
        "exact call": exact,
    }
    examples = [
        {"question": q["question"], "direct": c.text, "calculator": a}
        for q, c, a in list(zip(questions, direct, answers, strict=True))[:3]
    ]
    return {"by_lang": _by_lang(questions, columns), "seconds": seconds, "examples": examples}


def rag_part(backend, index, qa: list[dict]) -> dict:
    """Exact match without retrieval, with the top chunk (per mode), and through Index.ask."""
    from lmforge.eval.scoring import exact_match
    from lmforge.rag.answer import CITATION

    def em(texts: list[str]) -> list[bool]:
        return [
            exact_match(CITATION.sub("", t), [q["answer"]]) for t, q in zip(texts, qa, strict=True)
        ]

    plain = backend.generate_batch([chat(q["question"]) for q in qa], max_tokens=24)
    columns = {"no retrieval": em([c.text for c in plain])}
    examples = [
        {"question": q["question"], "answer": q["answer"], "no retrieval": c.text}
        for q, c in zip(qa[:3], plain, strict=False)
    ]
    for mode in MODES:
        tops = [index.search(q["question"], k=1, mode=mode)[0] for q in qa]
        prompts = [chat(f"{p.text}\n\n{q['question']}") for p, q in zip(tops, qa, strict=True)]
        replies = [c.text for c in backend.generate_batch(prompts, max_tokens=24)]
        columns[mode] = em(replies)
        columns[f"in chunk ({mode})"] = [
            q["answer"] in p.text for p, q in zip(tops, qa, strict=True)
        ]
        for example, reply in zip(examples, replies, strict=False):
            example[mode] = reply
    asked = [
        index.ask(q["question"], backend, k=1, max_tokens=24).text
        for q in track(qa, description="rag ask")
    ]
    columns["rag ask"] = em(asked)
    return {"by_lang": _by_lang(qa, columns), "examples": examples}


def facts_part(model: Path, lab: Path) -> float:
    from lmforge.eval.run import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        evaluate(model, ["lab-qa"], Path(tmp) / "eval", lab, show_progress=False)
        results = json.loads((Path(tmp) / "eval" / "results.json").read_text(encoding="utf-8"))
    return results["tasks"]["lab-qa"]["metrics"]["exact_match"]


def print_table(title: str, parts: dict[str, dict], columns: list[str]) -> None:
    print(f"\n{title}\n")
    print("| model | lang | n | " + " | ".join(columns) + " |")
    print("|---|---|---:|" + "---:|" * len(columns))
    for label, part in parts.items():
        for lang, row in part["by_lang"].items():
            cells = " | ".join(f"{row[c]:.3f}" for c in columns)
            print(f"| {label} | {lang} | {row['n']} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="A `lmforge quickstart` dir.")
    parser.add_argument("--out", type=Path, help="The demo model (default WORKDIR/sft-tools).")
    parser.add_argument("--limit", type=int, default=0, help="4-digit questions (0: all).")
    parser.add_argument("--rag-limit", type=int, default=0, help="New-region questions (0: all).")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    from transformers.utils import logging

    logging.disable_progress_bar()
    from lmforge.infer.backends import load_backend
    from lmforge.rag import Index

    lab = args.workdir / "lab"
    for needed in (args.workdir / "sft" / MANIFEST, lab / "arith/test.jsonl", lab / "rag/qa.jsonl"):
        if not needed.exists():
            raise SystemExit(f"{needed} is missing: run `lmforge quickstart --workdir DIR` first.")
    models = {"quickstart sft": args.workdir / "sft"}
    models["+ tools & reading"] = demo_model(args.workdir, args.out or args.workdir / "sft-tools")
    questions = [r for r in read_jsonl(lab / "arith/test.jsonl") if r["meta"]["digits"] == 4]
    questions = questions[: args.limit or None]
    qa = read_jsonl(lab / "rag/qa.jsonl")[: args.rag_limit or None]
    figures: dict = {"models": {k: str(v) for k, v in models.items()}, "arith": {}, "rag": {}}
    figures["facts"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(
            Path(tmp) / "idx", chunk_tokens=40, overlap=0, tokenizer=models["quickstart sft"]
        )
        index.add(lab / "rag" / "docs")
        for label, path in models.items():
            print(f"{label}: {path}")
            backend = load_backend(path)
            figures["arith"][label] = arith_part(backend, questions)
            figures["rag"][label] = rag_part(backend, index, qa)
            figures["facts"][label] = facts_part(path, lab)
    examples = {
        part: {k: v["examples"] for k, v in figures[part].items()} for part in ("arith", "rag")
    }
    print(json.dumps(examples, ensure_ascii=False, indent=1))
    print_table(
        "(a) 4-digit arithmetic, held-out questions: accuracy",
        figures["arith"],
        ["direct", "calculator", "calls", "exact call"],
    )
    print_table(
        "(b) new-region questions: exact match",
        figures["rag"],
        ["no retrieval", *MODES, "rag ask", *(f"in chunk ({m})" for m in MODES)],
    )
    print("\n(c) lab-qa exact match (held-out facts of the pretraining text)\n")
    print("| model | lab-qa |\n|---|---:|")
    for label, value in figures["facts"].items():
        print(f"| {label} | {value:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
