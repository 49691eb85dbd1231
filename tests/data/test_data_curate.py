"""curate_basic end to end: outputs, counts that add up, manifest, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.data.curate import curate_basic
from lmforge.errors import LmforgeError
from lmforge.jsonl import read_jsonl
from lmforge.runs import read_manifest

EN = "Kamori is a town in the Velden region. Its main export is copper."
KO = "카모리는 벨덴 지방의 마을이다. 주요 수출품은 구리이다."


def write_raw(directory: Path) -> Path:
    """Two input files with good, junk, duplicate, boilerplate and broken lines."""
    directory.mkdir()
    first = [
        json.dumps({"id": "en", "text": f"Home | About | Contact\n{EN}"}),  # 1 kept, cleaned
        json.dumps({"id": "ko", "text": KO}, ensure_ascii=False),  # 2 kept
        "{not json",  # 3 quarantined
        "",  # 4 skipped, not counted
        json.dumps({"id": "spam", "text": "buy cheap " * 10}),  # 5 junk
    ]
    second = [
        json.dumps({"id": "en-copy", "text": f"{EN.upper()}\n© 2024 All rights reserved"}),
        json.dumps({"id": "nav", "text": "Home | About | Contact"}),  # 2 only boilerplate
        "[1, 2]",  # 3 quarantined
    ]
    (directory / "a.jsonl").write_text("\n".join(first) + "\n", encoding="utf-8")
    (directory / "b.jsonl").write_bytes(
        ("\n".join(second) + "\n").encode() + b'{"text": "bad \xfe byte"}\n'  # 4 quarantined
    )
    return directory


def test_curate_basic_writes_outputs_whose_counts_add_up(tmp_path):
    raw = write_raw(tmp_path / "raw")
    out = tmp_path / "curated"
    stats = curate_basic([raw], out)

    assert stats == {
        "read": 8,
        "kept": 2,
        "dropped": 3,
        "quarantined": 3,
        "dropped_by_rule": {"exact_duplicate": 1, "only_boilerplate": 1, "top_word_repetition": 1},
    }
    assert stats["read"] == stats["kept"] + stats["dropped"] + stats["quarantined"]

    kept = read_jsonl(out / "kept" / "docs.jsonl")
    assert [(r["id"], r["text"]) for r in kept] == [("en", EN), ("ko", KO)]
    assert set(kept[0]) == {"id", "text", "meta"}

    dropped = {r["id"]: r["reason"] for r in read_jsonl(out / "dropped" / "docs.jsonl")}
    # the copy differs from "en" only in case and boilerplate, so it is a duplicate
    assert dropped["en-copy"] == {
        "step": "exact_dedup",
        "rule": "exact_duplicate",
        "value": "en",
        "threshold": None,
    }
    assert dropped["nav"]["rule"] == "only_boilerplate"
    assert dropped["spam"]["rule"] == "top_word_repetition"

    quarantine = read_jsonl(out / "quarantine" / "records.jsonl")
    assert [(Path(q["source"]).name, q["line"]) for q in quarantine] == [
        ("a.jsonl", 3),
        ("b.jsonl", 3),
        ("b.jsonl", 4),
    ]
    assert quarantine[0]["raw"] == "{not json"

    assert json.loads((out / "stats.json").read_text(encoding="utf-8")) == stats
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest["kind"] == "curated"
    assert manifest["metrics"] == stats
    assert "raw" in manifest["inputs"]
    assert not list(out.glob(".*spill*"))  # scratch files are gone


def test_empty_outputs_still_exist(tmp_path):
    raw = tmp_path / "one.jsonl"
    raw.write_text(json.dumps({"text": EN}) + "\n", encoding="utf-8")
    stats = curate_basic([raw], tmp_path / "out")
    assert (stats["kept"], stats["dropped"], stats["quarantined"]) == (1, 0, 0)
    assert (tmp_path / "out" / "dropped" / "docs.jsonl").read_text(encoding="utf-8") == ""
    assert (tmp_path / "out" / "quarantine" / "records.jsonl").is_file()


def test_missing_input_raises_and_leaves_out_alone(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(LmforgeError, match="does not exist"):
        curate_basic([tmp_path / "missing.jsonl"], out)
    assert not out.exists()


def test_finished_output_is_not_overwritten_without_overwrite(tmp_path):
    raw = write_raw(tmp_path / "raw")
    out = tmp_path / "curated"
    curate_basic([raw], out)
    with pytest.raises(LmforgeError, match="finished artifact"):
        curate_basic([raw], out)
    assert curate_basic([raw], out, overwrite=True)["read"] == 8


def test_output_inside_the_input_is_refused(tmp_path):
    raw = write_raw(tmp_path / "raw")
    with pytest.raises(LmforgeError, match="would contain the input"):
        curate_basic([raw / "a.jsonl"], raw)
    assert (raw / "a.jsonl").is_file()
