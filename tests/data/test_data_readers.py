"""read_jsonl_docs: documents from good lines, Quarantined records from bad ones, never a crash."""

from __future__ import annotations

import json

import pytest

from lmforge.data.document import Document
from lmforge.data.readers import Quarantined, read_jsonl_docs
from lmforge.errors import LmforgeError

GOOD = "Kamori is a town in the Velden region. Its main export is copper."


def planted_lines() -> list[bytes]:
    return [
        json.dumps({"id": "good-1", "text": GOOD}).encode(),  # 1
        b'{"text": "unterminated',  # 2: not JSON
        b'{"text": "caf\xff au lait"}',  # 3: invalid UTF-8
        json.dumps({"title": "no text here"}).encode(),  # 4: no text field
        b"[1, 2, 3]",  # 5: a JSON array, not an object
        b"",  # 6: empty line, skipped and not counted
        json.dumps({"text": 42}).encode(),  # 7: text is not a string
        json.dumps({"text": GOOD, "url": "http://x", "meta": {"lang": "en"}}).encode(),  # 8
        b"   ",  # 9: blank, skipped
        b'{"text": "lone \\ud800 surrogate"}',  # 10: cannot be written back as UTF-8
        json.dumps({"id": 7, "text": GOOD}).encode(),  # 11: integer id
    ]


def test_bad_lines_are_quarantined_with_file_and_line(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b"\n".join(planted_lines()) + b"\n")
    items = list(read_jsonl_docs([path]))
    docs = [i for i in items if isinstance(i, Document)]
    bad = [i for i in items if isinstance(i, Quarantined)]
    assert len(items) == 9  # 11 lines minus the 2 blank ones
    assert [d.id for d in docs] == ["good-1", "raw:8", "7"]
    assert docs[1].meta == {"lang": "en", "url": "http://x"}
    assert [(q.source, q.line) for q in bad] == [(str(path), n) for n in (2, 3, 4, 5, 7, 10)]
    errors = [q.error for q in bad]
    assert "not valid JSON" in errors[0]
    assert "invalid UTF-8" in errors[1]
    assert "no 'text' field" in errors[2]
    assert "got array" in errors[3]
    assert "not a string" in errors[4]
    assert "surrogate" in errors[5]
    assert bad[1].raw == '{"text": "caf\ufffd au lait"}'


def test_long_bad_line_is_truncated_in_quarantine(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text("x" * 5000 + "\n", encoding="utf-8")
    [item] = read_jsonl_docs(path)
    assert isinstance(item, Quarantined)
    assert item.raw == "x" * 1000


def test_directory_reads_sorted_jsonl_files_only(tmp_path):
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "from b"}) + "\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "from a"}) + "\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not data\n", encoding="utf-8")
    items = list(read_jsonl_docs(tmp_path))
    assert [(d.id, d.text) for d in items] == [("a:1", "from a"), ("b:1", "from b")]


def test_unusable_inputs_raise_before_reading(tmp_path):
    with pytest.raises(LmforgeError, match="does not exist"):
        read_jsonl_docs([tmp_path / "missing.jsonl"])  # raised at the call, not on iteration
    with pytest.raises(LmforgeError, match=r"no \*\.jsonl"):
        read_jsonl_docs([tmp_path])
    (tmp_path / "a.jsonl").write_bytes(b"")
    (tmp_path / "b.jsonl").write_bytes(b"\n  \n")
    with pytest.raises(LmforgeError, match="empty"):
        read_jsonl_docs([tmp_path])
