"""Search modes, reciprocal rank fusion, metadata filters, cross-encoder rerank, Retriever."""

from __future__ import annotations

import pytest

from lmforge.errors import LmforgeError
from lmforge.rag import Index
from lmforge.rag.search import rrf, where_sql
from lmforge.retrieval import Passage, Retriever
from support import single_thread

QUESTION = "In what year was Haltaro founded?"


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)


def test_hybrid_fuses_dense_and_bm25_and_keeps_their_scores(lab_index):
    index = Index(lab_index, create=False)
    with single_thread():
        dense = index.search(QUESTION, 6, mode="dense")
        sparse = index.search(QUESTION, 6, mode="bm25")
        hybrid = index.search(QUESTION, 3, mode="hybrid")
    assert dense[0].id == sparse[0].id == hybrid[0].id == "rokolin-haltaro-en.md#0"
    assert [p.score for p in dense] == sorted((p.score for p in dense), reverse=True)
    expected = rrf([[p.id for p in dense], [p.id for p in sparse]])
    assert [p.id for p in hybrid] == sorted(expected, key=lambda i: -expected[i])[:3]
    top = hybrid[0].metadata
    assert top["dense_score"] == pytest.approx(dense[0].score, abs=1e-5)
    assert top["bm25_score"] == pytest.approx(sparse[0].score)
    assert top["rrf_score"] == pytest.approx(2 / 61)


def test_filters_apply_to_every_mode(lab_index):
    index = Index(lab_index, create=False)
    korean = ["rokolin-haltaro-ko.md", "rokolin-velmira-ko.md"]
    with single_thread():
        for mode in ("dense", "bm25", "hybrid"):
            found = index.search("Haltaro 할타로", 5, mode=mode, filters={"doc_id": korean})
            assert found and {p.metadata["doc_id"] for p in found} <= set(korean), mode
        only = index.search(QUESTION, 5, filters="title = 'Velmira'")
    assert [p.metadata["title"] for p in only] == ["Velmira"]
    assert where_sql({"title": "O'Neil", "page": 3}) == "title = 'O''Neil' AND page = 3"
    with pytest.raises(LmforgeError, match="cannot filter on 'colour'"):
        index.search(QUESTION, 3, filters={"colour": "red"})
    with pytest.raises(LmforgeError, match="is not valid"):
        index.search(QUESTION, 3, mode="bm25", filters="title = = 'x'")
    with pytest.raises(LmforgeError, match="unknown retrieval mode"):
        index.search(QUESTION, 3, mode="sparse")


def test_an_index_is_a_retriever(lab_index):
    def top_title(retriever: Retriever) -> str:
        return retriever.search(QUESTION, 2)[0].metadata["title"]

    index = Index(lab_index, create=False)
    with single_thread():
        assert top_title(index) == "Haltaro"
        found = index.search(QUESTION, 2)
    assert len(found) == 2 and all(isinstance(p, Passage) for p in found)
    assert set(found[0].metadata) >= {"doc_id", "path", "title", "page", "heading"}
    assert found[0].metadata["path"].endswith("rokolin-haltaro-en.md")


def test_rerank_orders_by_a_local_cross_encoder(lab_index, tmp_path):
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from lmforge.embed import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, num_labels=1)  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(tmp_path / "ce")
    tokenizer.save_pretrained(tmp_path / "ce")
    index = Index(lab_index, create=False)
    with single_thread():
        first = index.search(QUESTION, 6, mode="bm25")
        reranked = index.search(QUESTION, 3, mode="bm25", rerank=tmp_path / "ce")
        scores = CrossEncoder(str(tmp_path / "ce")).predict([(QUESTION, p.text) for p in first])
    by_score = sorted(zip(scores, first, strict=True), key=lambda pair: -pair[0])
    assert [p.id for p in reranked] == [p.id for _, p in by_score[:3]]
    assert [p.score for p in reranked] == pytest.approx([float(s) for s, _ in by_score[:3]])
    assert all("bm25_score" in p.metadata for p in reranked)
    with pytest.raises(LmforgeError, match="is not a directory"):
        index.search(QUESTION, 3, rerank=tmp_path / "missing")
