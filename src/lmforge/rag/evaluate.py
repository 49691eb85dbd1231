"""Measuring an index on questions with known source documents: `lmforge rag eval`.

A question file is JSONL: {"question", "doc_ids": [ids of documents that answer it],
"answer"?: gold answer, "id"?}. A retrieved chunk is relevant when its document id, or that
id without its file extension, is in `doc_ids` (so the lab's rag/qa.jsonl ids match the
files of rag/docs). Metrics are over documents: the top-k chunks' documents, duplicates
dropped, in rank order.

- recall@k: share of a question's relevant documents found in the top k chunks, averaged;
- MRR: 1 / rank of the first relevant document (0 if none in the top max(k, 10));
- nDCG@10: binary-gain DCG of the document ranking over the ideal one.

With a model, each question is also answered (`Index.ask`) and scored:
- answer_match: the gold answer appears in the reply (case-folded), when there is one;
- refused: share of questions where nothing relevant was retrieved (no model call);
- cited: share of answered questions citing at least one valid source;
- citation_precision: share of valid citations that point at a relevant document;
- faithfulness: a lexical proxy, not an entailment model — the share of the reply's BM25 terms
  (citation markers removed) that occur in the sources it cites, averaged over answered
  questions (0 for a reply citing nothing).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from lmforge.errors import LmforgeError
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.rag.answer import CITATION, Answer
from lmforge.rag.bm25 import tokens
from lmforge.rag.search import MODES
from lmforge.retrieval import Passage
from lmforge.runs import prepare_out_dir, write_manifest


def load_qa(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    records = read_jsonl(path, required=("question", "doc_ids"))
    for i, record in enumerate(records, start=1):
        ids = record["doc_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
            raise LmforgeError(
                f"{path}: record {i} has doc_ids {ids!r}.",
                'Give "doc_ids" as a non-empty list of document ids (paths under --docs).',
            )
    return records[:limit] if limit else records


def is_relevant(doc_id: str, wanted: set[str]) -> bool:
    stem = doc_id.rsplit(".", 1)[0] if "." in doc_id.rsplit("/", 1)[-1] else doc_id
    return doc_id in wanted or stem in wanted


def doc_ranking(passages: list[Passage]) -> list[str]:
    return list(dict.fromkeys(p.metadata["doc_id"] for p in passages))


def retrieval_scores(ranking: list[str], wanted: set[str], k: int) -> dict[str, float]:
    hits = [is_relevant(d, wanted) for d in ranking]
    found = {d for d in ranking[:k] if is_relevant(d, wanted)}
    first = next((rank for rank, hit in enumerate(hits, start=1) if hit), None)
    dcg = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(hits[:10], start=1) if hit)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(wanted), 10) + 1))
    return {f"recall@{k}": len(found) / len(wanted), "mrr": 1 / first if first else 0.0,
            "ndcg@10": dcg / ideal}  # fmt: skip


def answer_scores(result: Answer, record: dict[str, Any]) -> dict[str, Any]:
    wanted = set(record["doc_ids"])
    scores: dict[str, Any] = {"refused": result.refused}
    if "answer" in record:
        scores["answer_match"] = str(record["answer"]).casefold() in result.text.casefold()
    if result.refused:
        return scores
    cited = result.cited
    scores["cited"] = bool(cited)
    scores["relevant_citations"] = sum(is_relevant(p.metadata["doc_id"], wanted) for p in cited)
    scores["citations"] = len(cited)
    terms = set(tokens(CITATION.sub(" ", result.text)))
    support = set(tokens(" ".join(p.text for p in cited)))
    scores["faithfulness"] = len(terms & support) / len(terms) if terms and cited else 0.0
    return scores


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize_answers(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if not r["refused"]]
    citations = sum(r["citations"] for r in answered)
    return {
        "answer_match": _mean([float(r["answer_match"]) for r in rows if "answer_match" in r]),
        "refused": _mean([float(r["refused"]) for r in rows]),
        "cited": _mean([float(r["cited"]) for r in answered]),
        "citation_precision": round(sum(r["relevant_citations"] for r in answered) / citations, 4)
        if citations else None,
        "faithfulness": _mean([r["faithfulness"] for r in answered]),
    }  # fmt: skip


def evaluate(
    index, qa: list[dict[str, Any]], modes: tuple[str, ...] = MODES, k: int = 10, *,
    rerank: str | None = None, model=None, answer_k: int = 5, progress: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """Metrics per mode (and for answers, with `model`), plus one record per question."""
    depth = max(k, 10)
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    records, answers = [], []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True,
                  disable=not progress) as bar:  # fmt: skip
        task = bar.add_task("evaluating questions", total=len(qa))
        for record in qa:
            wanted = set(record["doc_ids"])
            out = {
                "id": record.get("id"),
                "question": record["question"],
                "doc_ids": record["doc_ids"],
            }
            for mode in modes:
                found = index.search(record["question"], depth, mode=mode, rerank=rerank)
                ranking = doc_ranking(found)
                per_mode[mode].append(retrieval_scores(ranking, wanted, k))
                out[mode] = {"docs": ranking[:k], **per_mode[mode][-1]}
            if model is not None:
                result = index.ask(
                    record["question"], model, k=answer_k, mode=modes[0], rerank=rerank
                )
                answers.append(answer_scores(result, record))
                out["answer"] = {**result.to_record(), **answers[-1]}
            records.append(out)
            bar.advance(task)
    metrics: dict[str, Any] = {
        "n": len(qa), "k": k,
        "retrieval": {m: {key: _mean([s[key] for s in rows]) for key in rows[0]}
                      for m, rows in per_mode.items() if rows},
    }  # fmt: skip
    if model is not None:
        metrics["answers"] = {"mode": modes[0], "k": answer_k, **summarize_answers(answers)}
    return metrics, records


def run_eval(
    index_dir: Path, qa_path: Path, modes: tuple[str, ...], k: int, *, model: str | None = None,
    rerank: str | None = None, limit: int | None = None, out: Path | None = None,
    overwrite: bool = False, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """`lmforge rag eval`: metrics, and with --out results.json + questions.jsonl + manifest."""
    from lmforge.infer.backends import load_backend
    from lmforge.rag.index import Index

    if k < 1:
        raise LmforgeError(f"--k {k}: ask for at least one passage.")
    qa = load_qa(qa_path, limit)
    index = Index(index_dir, create=False)
    backend = load_backend(model) if model else None
    if out is not None:
        prepare_out_dir(out, overwrite)
    metrics, records = evaluate(
        index, qa, modes, k, rerank=rerank, model=backend, progress=progress
    )
    if out is not None:
        (out / "results.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        write_jsonl(out / "questions.jsonl", records)
        config = {"modes": list(modes), "k": k, "model": model, "rerank": rerank, "limit": limit}
        write_manifest(out, "rag-eval", config, {"index": index_dir, "qa": qa_path}, metrics)
    return metrics
