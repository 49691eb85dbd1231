"""Retrieval and answer metrics: by hand on small cases, then on the lab with a scripted model."""

from __future__ import annotations

import math

import pytest

from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import read_jsonl
from lmforge.rag import Answer, Index
from lmforge.rag.evaluate import answer_scores, evaluate, is_relevant, load_qa, retrieval_scores
from lmforge.retrieval import Passage
from support import single_thread


def test_retrieval_scores_by_hand():
    scores = retrieval_scores(["x.md", "a.md", "c.md", "b.md"], {"a", "b"}, k=2)
    assert scores["recall@2"] == 0.5 and scores["mrr"] == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert scores["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert retrieval_scores(["x.md"], {"a"}, k=5) == {"recall@5": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
    assert is_relevant("sub/a.md", {"sub/a"}) and is_relevant("d.jsonl#7", {"d.jsonl#7"})
    assert not is_relevant("a.md", {"sub/a"})


def test_answer_scores_by_hand():
    sources = [Passage("a#0", "Haltaro was founded in 1853.", 1.0, {"doc_id": "a.md"}),
               Passage("b#0", "Velmira exports silk.", 1.0, {"doc_id": "b.md"})]  # fmt: skip
    reply = Answer("q", "Haltaro was founded in 1853 by monks [1][2].", sources, [1, 2])
    scores = answer_scores(reply, {"doc_ids": ["a"], "answer": "1853"})
    # terms (stop words "was", "by" dropped): haltaro, founded, 1853, monk -> 3 of 4 supported
    assert scores == {"refused": False, "answer_match": True, "cited": True,
                      "relevant_citations": 1, "citations": 2, "faithfulness": 0.75}  # fmt: skip
    uncited = answer_scores(Answer("q", "1853.", sources), {"doc_ids": ["a"]})
    assert uncited["cited"] is False and uncited["faithfulness"] == 0.0


def test_lab_answers_with_a_scripted_model(lab_index, tiny_lab):
    qa = read_jsonl(tiny_lab / "rag" / "qa.jsonl")
    backend = ScriptedBackend(lambda prompt, options: "Rokolin [1].")
    with single_thread():
        metrics, records = evaluate(Index(lab_index, create=False), qa, ("hybrid",), 3,
                                    model=backend)  # fmt: skip
    answers = metrics["answers"]
    # only the three English "which region" questions have the gold answer "Rokolin"
    assert answers["answer_match"] == 0.1 and answers["refused"] == 0.0 and answers["cited"] == 1
    # English sources contain "Rokolin", Korean ones write 로코린: half the replies are supported
    assert answers["faithfulness"] == 0.5
    first_right = [r["answer"]["sources"][0]["doc_id"].startswith(r["doc_ids"][0])
                   for r in records]  # fmt: skip
    assert answers["citation_precision"] == pytest.approx(sum(first_right) / len(records), abs=1e-4)
    assert answers["citation_precision"] >= 0.9 and len(backend.calls) == 30


def test_question_files_are_checked(tmp_path):
    bad = tmp_path / "qa.jsonl"
    bad.write_text('{"question": "q", "doc_ids": "a.md"}\n')
    with pytest.raises(LmforgeError, match=r"record 1 has doc_ids 'a\.md'"):
        load_qa(bad)
    bad.write_text('{"question": "q"}\n')
    with pytest.raises(LmforgeError, match="no field 'doc_ids'"):
        load_qa(bad)
