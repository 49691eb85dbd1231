"""`lmforge eval judge`: judge answers with G-Eval scores or pairwise verdicts; write them.

Input is JSONL: {id, question, answer, [reference], [context]} items are scored per criterion
(G-Eval); {id, question, answer_a, answer_b} items are compared (pairwise, both orders).
Everything is checked before the judge is loaded. Output directory:
judgments.jsonl (per item: scores or verdict, unparsed flags, every prompt and reply or
probability), steps.json (G-Eval's evaluation steps, with the prompt that wrote them),
summary.json (means with bootstrap 95% intervals or win rates; agreement with --gold) and the
manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

from lmforge.errors import LmforgeError
from lmforge.eval.judge.agreement import load_gold, score_agreement, verdict_agreement
from lmforge.eval.judge.asking import resolve_mode, resolve_scoring
from lmforge.eval.judge.geval import GEval
from lmforge.eval.judge.pairwise import PairwiseJudge, win_rates
from lmforge.eval.judge.prompts import Criterion, resolve_criteria
from lmforge.eval.report.stats import bootstrap_ci
from lmforge.infer.backends import CachedBackend, load_backend
from lmforge.infer.backends.base import Backend
from lmforge.jsonl import iter_jsonl, write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

DEFAULT_CRITERIA = ["helpfulness"]
OPTIONAL_TEXT = ("reference", "context")


def judge_answers(
    judge: str, answers: Path, out: Path, criteria: list[str] | None = None,
    gold: Path | None = None, mode: str = "auto", scoring: str = "auto", samples: int = 5,
    seed: int = 0, steps_max_tokens: int = 256, cache: Path | None = None,
    overwrite: bool = False, backend: Backend | None = None, show_progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Judge every item of `answers` with the backend `judge`; see the module doc."""
    items, kind = load_answers(Path(answers))
    chosen = resolve_criteria(criteria or ([] if kind == "pairwise" else DEFAULT_CRITERIA))
    if kind == "geval":
        check_needs(chosen, items, Path(answers))
    if samples < 1:
        raise LmforgeError(f"samples {samples} is less than 1.", "Use 1 or more.")
    names = [c.name for c in chosen] if kind == "geval" else None
    labels = load_gold(Path(gold), names, {i["id"] for i in items}) if gold else None
    out = prepare_out_dir(out, overwrite=overwrite)
    backend = backend or load_backend(judge)
    mode = resolve_mode(mode, backend)  # before caching: the cache hides `prefers_chat`
    scoring = resolve_scoring(scoring, backend, mode)
    if cache is not None:
        backend = CachedBackend(backend, cache)
    progress = {"description": f"judge ({kind})", "disable": not show_progress,
                "console": Console(stderr=True)}  # fmt: skip
    if kind == "geval":
        geval = GEval(backend, mode, scoring, samples, seed=seed, steps_max_tokens=steps_max_tokens)
        judgments, summary = run_geval(geval, chosen, items, out, progress)
    else:
        pairwise = PairwiseJudge(backend, chosen, mode, scoring)
        pairwise.check(items)
        judgments = [{"id": i["id"], **pairwise.judge(i)} for i in track(items, **progress)]
        summary = win_rates(judgments)
    head = {"judge": backend.name, "kind": kind, "mode": mode, "scoring": scoring}
    summary = head | {"criteria": [c.name for c in chosen]} | summary
    if labels is not None:
        summary["agreement"] = agreement(kind, judgments, labels, names)
    write_jsonl(out / "judgments.jsonl", judgments)
    _write_json(out / "summary.json", summary)
    config = {"judge": judge, "criteria": summary["criteria"], "mode": mode, "scoring": scoring,
              "samples": samples, "seed": seed, "steps_max_tokens": steps_max_tokens}  # fmt: skip
    write_manifest(out, "judge", config, _inputs(judge, answers, gold), _metrics(summary))
    return summary


def load_answers(path: Path) -> tuple[list[dict[str, Any]], str]:
    """Checked items and their kind: "geval" (answer) or "pairwise" (answer_a + answer_b)."""
    records = list(iter_jsonl(path))  # names the file and line of bad JSON
    if not records:
        raise LmforgeError(f"{path} has no records.", "Add one JSON answer per line.")
    with path.open("rb") as f:  # iter_jsonl skips blank lines: count them for error messages
        lines = [n for n, raw in enumerate(f, 1) if raw.strip()]
    kind = "pairwise" if "answer_a" in records[0] or "answer_b" in records[0] else "geval"
    fields = ("answer_a", "answer_b") if kind == "pairwise" else ("answer",)
    items, seen = [], set()
    for n, (line, record) in enumerate(zip(lines, records, strict=True)):
        item = _item(record, f"{path}:{line}", n, fields)
        if item["id"] in seen:
            raise LmforgeError(f"{path}:{line}: id {item['id']!r} is used twice.",
                               "Give every item its own id.")  # fmt: skip
        seen.add(item["id"])
        items.append(item)
    return items, kind


def _item(record: dict[str, Any], where: str, n: int, fields: tuple[str, ...]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(record.get("id", n))}
    for name in ("question", *fields):
        value = record.get(name)
        if not isinstance(value, str):
            got = "is missing" if name not in record else f"is {value!r}, not text"
            raise LmforgeError(
                f"{where}: field {name!r} {got}.",
                "Items look like {id, question, answer, [reference], [context]} or "
                "{id, question, answer_a, answer_b}; every item of a file has the same form.",
            )
        item[name] = value
    for name in OPTIONAL_TEXT:
        value = record.get(name)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n\n".join(value)  # several retrieved passages
        if value is not None and not isinstance(value, str):
            raise LmforgeError(f"{where}: field {name!r} must be text, got {value!r}.")
        if value:
            item[name] = value
    return item


def check_needs(criteria: list[Criterion], items: list[dict[str, Any]], path: Path) -> None:
    """Every item has what each criterion judges against (faithfulness needs a context...)."""
    for criterion in criteria:
        if not criterion.needs:
            continue
        for item in items:
            if not any(item.get(field) for field in criterion.needs):
                raise LmforgeError(
                    f"{path}: item {item['id']!r} has no {' or '.join(criterion.needs)}, "
                    f"which criterion {criterion.name} judges the answer against.",
                    f"Add a {criterion.needs[0]!r} field to every item, or drop the criterion.",
                )


def run_geval(geval: GEval, criteria: list[Criterion], items, out: Path, progress: dict):
    """Steps per criterion (written to steps.json), then every item scored on each."""
    geval.check(criteria, items)
    steps = [geval.evaluation_steps(c) for c in criteria]
    _write_json(out / "steps.json", steps)
    for empty in (s["criterion"] for s in steps if not s["steps"]):
        progress["console"].print(f"[yellow]warning:[/] the judge wrote no steps for {empty}.")
    judgments = [_geval_item(geval, criteria, steps, i) for i in track(items, **progress)]
    return judgments, geval_summary(judgments, [c.name for c in criteria])


def _geval_item(geval: GEval, criteria: list[Criterion], steps, item) -> dict[str, Any]:
    pairs = zip(criteria, steps, strict=True)
    details = {c.name: geval.score(c, s["steps"], item) for c, s in pairs}
    return {
        "id": item["id"],
        "scores": {name: d["score"] for name, d in details.items()},
        "unparsed": {name: d["unparsed"] for name, d in details.items()},
        "judgments": details,
    }


def geval_summary(judgments: list[dict[str, Any]], criteria: list[str]) -> dict[str, Any]:
    """Per criterion: mean over scored items, its bootstrap 95% interval, unparsed counts."""
    per: dict[str, Any] = {}
    for name in criteria:
        scores = [j["scores"][name] for j in judgments if j["scores"][name] is not None]
        details = [j["judgments"][name] for j in judgments]
        masses = [d["score_mass"] for d in details if d.get("score_mass") is not None]
        per[name] = {
            "mean": sum(scores) / len(scores) if scores else None,
            "ci95": bootstrap_ci(scores),
            "scored": len(scores),
            "unparsed": len(judgments) - len(scores),
            "unparsed_replies": sum(d.get("unparsed_replies", 0) for d in details),
        }
        if masses:  # how much probability the judge put on the five score tokens at all
            per[name]["mean_score_mass"] = sum(masses) / len(masses)
    return {"n": len(judgments), "scores": per}


def agreement(kind: str, judgments, labels: dict[str, dict], criteria: list[str] | None):
    if kind == "pairwise":
        judged = {j["id"]: j["verdict"] for j in judgments}
        return verdict_agreement(judged, {i: g["winner"] for i, g in labels.items()})
    found = {}
    for name in criteria or []:
        gold = {i: g[name] for i, g in labels.items() if name in g}
        if gold:
            found[name] = score_agreement({j["id"]: j["scores"][name] for j in judgments}, gold)
    return found


def _metrics(summary: dict[str, Any]) -> dict[str, Any]:
    if summary["kind"] == "pairwise":
        keys = ("win_rate_a", "win_rate_b", "tie_rate", "unparsed")
        return {k: summary[k] for k in keys}
    return {name: s["mean"] for name, s in summary["scores"].items()}


def _inputs(judge: str, answers: Path, gold: Path | None) -> dict[str, Path]:
    inputs = {"answers": Path(answers)}
    if Path(judge).is_dir():
        inputs["judge"] = Path(judge)
    if gold is not None:
        inputs["gold"] = Path(gold)
    return inputs


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
