"""`lmforge rag index|search|eval|delete` end to end, and their errors for people."""

from __future__ import annotations

import json
import shutil

from lmforge.runs import read_manifest
from support import run_cli, single_thread


def test_index_reports_skipped_files_and_writes_a_manifest(capsys, tiny_lab, tmp_path):
    docs = shutil.copytree(tiny_lab / "rag" / "docs", tmp_path / "docs")
    (docs / "tool.bin").write_bytes(b"\x7fELF\x00\x00")
    (docs / "notes.txt").write_bytes(b"\x00\x01binary")
    (docs / "empty.md").write_text("")
    idx = tmp_path / "idx"
    with single_thread():
        code, out = run_cli(capsys, "rag", "index", "--docs", str(docs), "--index", str(idx))
    assert code == 0, out
    assert f"skipped {docs}/tool.bin: unsupported file type .bin" in out
    assert f"skipped {docs}/notes.txt: binary file" in out
    assert f"skipped {docs}/empty.md: the file is empty" in out
    assert "6 added, 0 updated, 0 unchanged, 0 deleted, 3 skipped; 6 chunks" in out
    manifest = read_manifest(idx)
    assert manifest["kind"] == "rag-index" and manifest["metrics"]["documents"] == 6
    assert manifest["config"]["embedder"] == "minilm"

    with single_thread():
        code, out = run_cli(capsys, "rag", "search", "when was Velmira founded", "--index",
                            str(idx), "--k", "1", "--mode", "bm25", "--json")  # fmt: skip
    hit = json.loads(out)
    assert hit["id"] == "rokolin-velmira-en.md#0" and hit["metadata"]["bm25_score"] > 1

    code, out = run_cli(capsys, "rag", "delete", "rokolin-velmira-en.md", "--index", str(idx))
    assert code == 0 and "Deleted 1 of 1 document(s); 5 chunks remain." in out


def test_eval_prints_and_writes_metrics(capsys, lab_index, tiny_lab, tmp_path):
    with single_thread():
        code, out = run_cli(capsys, "rag", "eval", "--index", str(lab_index), "--qa",
                            str(tiny_lab / "rag" / "qa.jsonl"), "--mode", "bm25", "--k", "1",
                            "--out", str(tmp_path / "ev"))  # fmt: skip
    assert code == 0, out
    assert "30 questions\n   bm25: recall@1 1.000, mrr 1.000, ndcg@10 1.000" in out
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert results["retrieval"] == {"bm25": {"recall@1": 1.0, "mrr": 1.0, "ndcg@10": 1.0}}
    assert read_manifest(tmp_path / "ev")["kind"] == "rag-eval"
    assert len((tmp_path / "ev" / "questions.jsonl").read_text().splitlines()) == 30


def test_errors_are_one_sentence_with_a_fix(capsys, index_copy, tmp_path):
    cases = [
        (["rag", "search", "q", "--index", str(tmp_path / "none")], "is not a RAG index"),
        (["rag", "index", "--docs", str(tmp_path / "nodocs"), "--index", str(index_copy)],
         "does not exist"),
        (["rag", "index", "--docs", str(tmp_path), "--index", str(index_copy), "--embedder",
          str(tmp_path)], "built with embedder minilm"),
        (["rag", "search", "q", "--index", str(index_copy), "--filter", "page"],
         "is not column=value"),
        (["rag", "ask", "q", "--index", str(index_copy), "--model", str(tmp_path / "m")],
         "neither a model directory nor a backend spec"),
    ]  # fmt: skip
    for argv, message in cases:
        code, out = run_cli(capsys, *argv)
        assert code == 1 and "Error:" in out and message in out, (argv, out)
        assert "Traceback" not in out
