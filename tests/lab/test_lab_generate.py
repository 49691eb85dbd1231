"""The lab world as files: determinism, the file contract, counts and language choice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from lab_helpers import has_hangul, raw_docs, read, world

from lmforge.errors import LmforgeError
from lmforge.lab.generate import SHARD_SIZE, generate_lab

JSONL_FILES = (
    "raw_truth.jsonl",
    "sft/train.jsonl",
    "sft/arith.jsonl",
    "sft/tools.jsonl",
    "sft/reading.jsonl",
    "prefs/train.jsonl",
    "eval/qa.jsonl",
    "eval/mc.jsonl",
    "arith/train.jsonl",
    "arith/test.jsonl",
    "rag/qa.jsonl",
)


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "lmforge.json"
    }


def test_same_seed_gives_identical_bytes(tiny_lab, tmp_path):
    again = tmp_path / "again"
    generate_lab(again, seed=0, size="tiny")
    first, second = _files(tiny_lab), _files(again)
    assert first.keys() == second.keys()
    for name, data in first.items():
        assert data == second[name], name


def test_different_seed_gives_a_different_world(tiny_lab, tmp_path):
    other = tmp_path / "other"
    generate_lab(other, seed=1, size="tiny")
    names = {e["name"]["en"] for e in world(tiny_lab)["entities"]}
    assert names != {e["name"]["en"] for e in world(other)["entities"]}
    assert (tiny_lab / "raw_truth.jsonl").read_bytes() != (other / "raw_truth.jsonl").read_bytes()
    assert [d["text"] for d in raw_docs(tiny_lab)] != [d["text"] for d in raw_docs(other)]


def test_all_files_exist_parse_and_have_unique_ids(small_lab):
    for name in JSONL_FILES:
        records = read(small_lab / name)
        assert records, name
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)), name
        assert all(isinstance(i, str) for i in ids), name
        if name != "raw_truth.jsonl":
            assert {r["lang"] for r in records} == {"en", "ko"}, name
    shards = sorted((small_lab / "raw").glob("web-*.jsonl"))
    n_raw = sum(len(read(s)) for s in shards)
    expected = [f"web-{i:05d}.jsonl" for i in range(-(-n_raw // SHARD_SIZE))]
    assert [s.name for s in shards] == expected
    assert all(len(read(s)) == SHARD_SIZE for s in shards[:-1])
    docs = raw_docs(small_lab)
    assert len(read(shards[0])) == 500
    assert len({d["id"] for d in docs}) == len(docs)
    for doc in docs:
        assert set(doc) == {"id", "text", "meta"}
        assert set(doc["meta"]) == {"lang", "url"}  # no planted labels for curation to peek at
        assert doc["meta"]["url"].startswith("https://")
    assert (small_lab / "lmforge.json").is_file()
    assert json.loads((small_lab / "lmforge.json").read_text())["kind"] == "lab"


def test_lab_json_counts_and_hashes_match_the_files(small_lab):
    lab = json.loads((small_lab / "lab.json").read_text(encoding="utf-8"))
    assert lab["generator"] == "lmforge.lab/1"
    assert (lab["seed"], lab["langs"], lab["size"]) == (0, ["en", "ko"], "small")
    for name, n in lab["counts"].items():
        if name.endswith(".jsonl"):
            assert len(read(small_lab / name)) == n, name
    assert lab["counts"]["rag/docs"] == len(list((small_lab / "rag/docs").glob("*.md")))
    assert lab["counts"]["world.json"] == len(world(small_lab)["entities"]) == 32
    on_disk = {
        p.relative_to(small_lab).as_posix()
        for p in small_lab.rglob("*")
        if p.is_file() and p.name not in ("lab.json", "lmforge.json") and p.name[0] != "."
    }
    assert set(lab["files"]) == on_disk
    for name, digest in lab["files"].items():
        assert hashlib.sha256((small_lab / name).read_bytes()).hexdigest() == digest, name
    manifest = json.loads((small_lab / "lmforge.json").read_text(encoding="utf-8"))
    assert manifest["metrics"] == lab["counts"]


def test_sizes_scale(tiny_lab, small_lab):
    assert len(world(tiny_lab)["entities"]) == 8
    assert len(world(tiny_lab)["rag_entities"]) == 3
    assert len(world(small_lab)["rag_entities"]) == 6
    assert len(raw_docs(tiny_lab)) < len(raw_docs(small_lab))


def test_english_only_writes_no_korean(tmp_path):
    out = tmp_path / "en"
    generate_lab(out, seed=3, langs=("en",), size="tiny")
    for path in out.rglob("*"):
        if path.is_file():
            assert not has_hangul(path.read_text(encoding="utf-8")), path
    assert {d["meta"]["lang"] for d in raw_docs(out)} == {"en"}


def test_english_text_does_not_depend_on_korean_being_generated(tiny_lab, tmp_path):
    out = tmp_path / "en"
    generate_lab(out, seed=0, langs=("en",), size="tiny")
    for name in ("sft/train.jsonl", "prefs/train.jsonl", "eval/qa.jsonl", "eval/mc.jsonl"):
        both = [_strip_id(r) for r in read(tiny_lab / name) if r["lang"] == "en"]
        only = [_strip_id(r) for r in read(out / name)]
        facts = [r for r in both if r["meta"].get("kind") != "arith"]
        assert facts and facts == [r for r in only if r["meta"].get("kind") != "arith"], name
    assert world(out)["entities"] == [
        {**e, "name": {"en": e["name"]["en"]}} for e in world(tiny_lab)["entities"]
    ]


def _strip_id(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "id"}


def test_korean_only_works(tmp_path):
    out = tmp_path / "ko"
    generate_lab(out, seed=0, langs=("ko",), size="tiny")
    assert {r["lang"] for r in read(out / "eval/qa.jsonl")} == {"ko"}
    assert all(has_hangul(r["question"]) for r in read(out / "eval/qa.jsonl"))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"size": "huge"}, "huge"),
        ({"langs": ("en", "fr")}, "fr"),
        ({"langs": ()}, "language"),
    ],
)
def test_bad_arguments_are_user_errors(tmp_path, kwargs, word):
    with pytest.raises(LmforgeError, match=word):
        generate_lab(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out" / "lmforge.json").exists()


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(LmforgeError):
        generate_lab(tmp_path, size="tiny")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_an_existing_empty_directory_is_fine(tmp_path):
    counts = generate_lab(tmp_path, size="tiny")
    assert counts["sft/train.jsonl"] == len(read(tmp_path / "sft/train.jsonl"))
