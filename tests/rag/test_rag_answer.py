"""Answering: numbered sources in the prompt, citations read back, refusal, window fitting."""

from __future__ import annotations

import pytest

from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend
from lmforge.rag import Index
from lmforge.rag.answer import NOT_FOUND, RULES, answer, parse_citations
from lmforge.rag.commands import format_answer
from lmforge.retrieval import Passage
from support import run_cli, single_thread

QUESTION = "In what year was Haltaro founded?"


def test_citations_are_read_back_and_checked():
    assert parse_citations("Yes [2]. Also [1, 2][3] and [0].", 2) == ([2, 1], [3, 0])
    assert parse_citations("No brackets here, 1853.", 3) == ([], [])


def test_completion_prompt_numbers_the_chunks_and_the_answer_cites_them(lab_index):
    backend = ScriptedBackend(["It was founded in 1853 [1]. See also [9]."], label="fake")
    index = Index(lab_index, create=False)
    with single_thread():
        result = index.ask(QUESTION, backend, k=3, chat="completion", max_tokens=32)
    prompt = backend.prompts[0]
    assert prompt == result.prompt and prompt.startswith(RULES + "\n\nSources:\n\n[1] Haltaro")
    assert prompt.endswith(f"\n\nQuestion: {QUESTION}\nAnswer:")
    assert "Haltaro was founded in 1853." in prompt
    # the other towns were retrieved (k=3) but match too weakly to be shown as sources
    assert "\n\n[2] " not in prompt and len(result.passages) == 1
    assert backend.calls[0].options["stop"] == ["\nQuestion:"]
    assert (result.citations, result.invalid_citations) == ([1], [9])
    assert [p.metadata["doc_id"] for p in result.cited] == ["rokolin-haltaro-en.md"]
    shown = format_answer(result)
    assert "*[1] Haltaro (rokolin-haltaro-en.md)" in shown and "[9], which name no source" in shown


def test_chat_prompt_puts_rules_in_the_system_message(lab_index):
    backend = ScriptedBackend(["할타로는 1853년에 세워졌다 [1]."])
    index = Index(lab_index, create=False)
    with single_thread():
        result = index.ask("할타로는 언제 세워졌나요?", backend, k=2, mode="bm25")
    system, user = backend.prompts[0]
    assert system == {"role": "system", "content": RULES}
    assert user["content"].startswith("Sources:\n\n[1] 할타로 (rokolin-haltaro-ko.md)\n# 할타로")
    assert user["content"].endswith("Question: 할타로는 언제 세워졌나요?")
    assert result.citations == [1] and not result.refused


def test_nothing_relevant_means_no_model_call_and_a_plain_refusal(lab_index):
    backend = ScriptedBackend([])
    index = Index(lab_index, create=False)
    with single_thread():
        result = index.ask("How do I bake sourdough bread?", backend, k=3)
    assert result.refused and result.text == NOT_FOUND and backend.calls == []
    assert result.passages == [] and format_answer(result) == NOT_FOUND


def test_sources_that_do_not_fit_the_window_are_dropped_from_the_end():
    passages = [Passage(f"d{i}#0", "word " * 40, 1.0, {"doc_id": f"d{i}", "bm25_score": 5.0})
                for i in range(3)]  # fmt: skip
    roomy = ScriptedBackend(["ok [1]"], context_window=10_000)
    assert len(answer(roomy, "q?", passages, mode="completion").passages) == 3
    tight = ScriptedBackend(["ok [2]"], context_window=150)  # words: rules + ~2 sources
    result = answer(tight, "q?", passages, mode="completion", max_tokens=10)
    assert [p.id for p in result.passages] == ["d0#0", "d1#0"] and result.citations == [2]
    with pytest.raises(LmforgeError, match="does not fit"):
        answer(ScriptedBackend([], context_window=30), "q?", passages, mode="completion")


def test_rag_ask_cli_with_a_tiny_local_model(capsys, tiny_lab, tiny_model_dir, tmp_path):
    idx = str(tmp_path / "idx")
    with single_thread():
        code, out = run_cli(capsys, "rag", "index", "--docs", str(tiny_lab / "rag" / "docs"),
                            "--index", idx, "--tokenizer", str(tiny_model_dir),
                            "--chunk-tokens", "32", "--overlap", "0")  # fmt: skip
        assert code == 0 and "6 added" in out
        code, out = run_cli(capsys, "rag", "ask", QUESTION, "--index", idx, "--model",
                            str(tiny_model_dir), "--k", "2", "--max-tokens", "4",
                            "--show-prompt")  # fmt: skip
    assert code == 0, out
    prompt, shown = out.split("--- answer ---")
    assert "[1] Haltaro — History (rokolin-haltaro-en.md)\nHaltaro was founded in 1853." in prompt
    assert "Sources:\n" in shown and "[1] Haltaro — History (rokolin-haltaro-en.md)" in shown
