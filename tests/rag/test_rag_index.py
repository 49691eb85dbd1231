"""The index over the tiny lab's rag docs: retrieval quality, incremental updates, recovery."""

from __future__ import annotations

import shutil

import pytest

from lmforge.errors import LmforgeError
from lmforge.jsonl import read_jsonl
from lmforge.rag import Index, SourceDoc
from lmforge.rag import ingest as ingest_module
from lmforge.rag.evaluate import evaluate
from lmforge.runs import PARTIAL
from support import single_thread


def test_lab_questions_find_their_document(lab_index, tiny_lab):
    qa = read_jsonl(tiny_lab / "rag" / "qa.jsonl")
    index = Index(lab_index, create=False)
    with single_thread():
        metrics, records = evaluate(index, qa, k=3)
    retrieval = metrics["retrieval"]
    assert retrieval["bm25"]["recall@3"] == retrieval["bm25"]["mrr"] == 1.0
    assert retrieval["hybrid"]["recall@3"] == 1.0 and retrieval["hybrid"]["mrr"] >= 0.9
    # MiniLM is an English model: dense retrieval is perfect on the English questions only
    english = [r for r, q in zip(records, qa, strict=True) if q["lang"] == "en"]
    assert all(r["dense"]["mrr"] == 1.0 for r in english)
    assert retrieval["dense"]["recall@3"] >= 0.8
    assert len(index) == 6 and [d["n_chunks"] for d in index.documents()] == [1] * 6


def test_rerun_skips_unchanged_and_updates_changed_documents(index_copy, tiny_lab, tmp_path):
    docs = shutil.copytree(tiny_lab / "rag" / "docs", tmp_path / "docs")
    index = Index(index_copy)
    with single_thread():
        again = index.add(docs)
        assert (again.added, again.unchanged, again.chunks) == (0, 6, 0)
        target = docs / "rokolin-haltaro-en.md"
        target.write_text(target.read_text() + "\n## Weather\n\nHaltaro gets heavy snowfall.\n")
        (docs / "rokolin-velmira-ko.md").unlink()
        report = index.add(docs, prune=True)
        assert (report.added, report.updated, report.unchanged, report.deleted) == (0, 1, 4, 1)
        assert [p.metadata["doc_id"] for p in index.search("snowfall", 1, mode="bm25")] == [
            "rokolin-haltaro-en.md"
        ]
        assert "rokolin-velmira-ko.md" not in {d["doc_id"] for d in index.documents()}
        assert index.delete(["rokolin-haltaro-en.md", "not-there.md"]) == 1
        assert len(index) == 4 and index.search("snowfall", 3, mode="bm25") == []
    assert not (index_copy / PARTIAL).exists()


def test_interrupted_run_resumes_without_duplicates(tmp_path, tiny_lab, monkeypatch):
    monkeypatch.setattr(ingest_module, "BATCH_CHUNKS", 2)  # write after every two documents
    index = Index(tmp_path / "idx")
    calls = []

    def crash_on_second_batch(rows, **kwargs):
        calls.append(rows)
        if len(calls) == 2:  # Ctrl-C after the batch's chunks were stored, before its documents
            raise KeyboardInterrupt
        return original(rows, **kwargs)

    original = index.store.documents.add
    monkeypatch.setattr(index.store.documents, "add", crash_on_second_batch)
    with single_thread(), pytest.raises(KeyboardInterrupt):
        index.add(tiny_lab / "rag" / "docs")
    assert (tmp_path / "idx" / PARTIAL).exists() and len(index) == 4  # 2 chunks without a row
    monkeypatch.undo()
    reopened = Index(tmp_path / "idx")  # repairs: the orphan chunks go
    assert len(reopened) == 2 and len(reopened.documents()) == 2
    with single_thread():
        report = reopened.add(tiny_lab / "rag" / "docs")
    assert (report.added, report.unchanged) == (4, 2)
    ids, _ = reopened.store.texts()
    assert len(ids) == len(set(ids)) == len(reopened) == 6
    assert {d["doc_id"] for d in reopened.documents()} == {i.removesuffix("#0") for i in ids}


def test_documents_from_python_objects(tmp_path):
    index = Index(tmp_path / "idx", chunk_tokens=32, overlap=0)
    docs = [SourceDoc.from_text("a", "Alpha text about copper mines.", title="A", src="x"),
            SourceDoc.from_text("a", "Duplicate id."),
            SourceDoc.from_text("b", "Beta text about salt.")]  # fmt: skip
    with single_thread():
        report = index.add(docs)
        [hit] = index.search("copper", 1, mode="dense")
    assert (report.added, [s.reason for s in report.skipped]) == (2, ["duplicate id 'a'"])
    assert hit.id == "a#0" and hit.metadata["title"] == "A" and hit.metadata["meta"] == {"src": "x"}


def test_mismatches_and_misuse_are_refused_before_loading(index_copy, tmp_path):
    other = tmp_path / "other-model"
    other.mkdir()
    with pytest.raises(LmforgeError, match=r"built with embedder minilm \(384 dims\), not"):
        Index(index_copy, embedder=str(other))
    with pytest.raises(LmforgeError, match="chunk_tokens = 256, not 128"):
        Index(index_copy, chunk_tokens=128)
    with pytest.raises(LmforgeError, match="is not a RAG index"):
        Index(tmp_path / "nothing", create=False)
    with pytest.raises(LmforgeError, match="tfidf embedder"):
        Index(tmp_path / "t", embedder="tfidf")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(LmforgeError, match="exists and is not an index"):
        Index(tmp_path / "mine")
