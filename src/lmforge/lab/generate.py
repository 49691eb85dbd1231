"""Write a whole lab world to a directory: `generate_lab(out, seed, langs, size)`.

Layout (a contract other stages read):
    lab.json, world.json, raw/web-NNNNN.jsonl, raw_truth.jsonl, sft/train.jsonl,
    sft/arith.jsonl, sft/tools.jsonl, sft/reading.jsonl, prefs/train.jsonl, eval/qa.jsonl,
    eval/mc.jsonl, arith/train.jsonl, arith/test.jsonl, rag/docs/<id>.md, rag/qa.jsonl, and
    lmforge.json (the manifest) last.
Every file but lmforge.json is a pure function of (seed, langs, size).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.jsonl import write_jsonl
from lmforge.lab import arith, tasks
from lmforge.lab.rag import rag_docs, rag_qa, sft_reading_records
from lmforge.lab.raw import build_raw
from lmforge.lab.sizes import LabSize, size_for
from lmforge.lab.text import LANGS
from lmforge.lab.world import World, build_world
from lmforge.runs import prepare_out_dir, write_manifest

GENERATOR = "lmforge.lab/1"
SHARD_SIZE = 500  # raw documents per shard


def generate_lab(
    out: Path,
    seed: int = 0,
    langs: tuple[str, ...] = ("en", "ko"),
    size: str = "small",
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the lab world for `seed` into `out`; return the record count of every file."""
    out = Path(out)
    langs = _check_langs(langs)
    spec = size_for(size)
    prepare_out_dir(out, overwrite=overwrite)
    world = build_world(seed, spec.entities, spec.rag_entities)
    jsonl = _datasets(seed, world, langs, spec)
    counts = {path: write_jsonl(out / path, records) for path, records in jsonl.items()}
    docs = rag_docs(seed, world, langs)
    for doc_id, text in docs.items():
        _write_text(out / "rag" / "docs" / f"{doc_id}.md", text)
    counts["rag/docs"] = len(docs)
    _write_text(out / "world.json", _dumps(world.to_json(langs)))
    counts["world.json"] = len(world.entities)
    counts = dict(sorted(counts.items()))
    _write_lab_json(out, seed, langs, size, counts)
    write_manifest(out, "lab", {"seed": seed, "langs": list(langs), "size": size}, metrics=counts)
    return counts


def _datasets(
    seed: int, world: World, langs: tuple[str, ...], spec: LabSize
) -> dict[str, list[dict[str, Any]]]:
    """Every JSONL file of the lab, by path relative to the output directory."""
    raw, truth = build_raw(seed, world, langs, spec)
    train, test = arith.problems(seed, spec.arith_train, spec.arith_test)
    arith_train = arith.arith_records(train, langs, "arith-train")
    shards = {
        f"raw/web-{k:05d}.jsonl": raw[i : i + SHARD_SIZE]
        for k, i in enumerate(range(0, len(raw), SHARD_SIZE))
    }
    return shards | {
        "raw_truth.jsonl": truth,
        "sft/train.jsonl": tasks.sft_records(world, langs),
        "sft/arith.jsonl": arith.sft_arith_records(arith_train),
        "sft/tools.jsonl": arith.sft_tool_records(
            arith.tool_problems(seed, spec.tool_sft, test), langs
        ),
        "sft/reading.jsonl": sft_reading_records(seed, world, langs, spec.reading_sft),
        "prefs/train.jsonl": tasks.pref_records(seed, world, langs)
        + arith.arith_prefs(seed, arith_train, spec.arith_prefs),
        "eval/qa.jsonl": tasks.eval_qa_records(world, langs),
        "eval/mc.jsonl": tasks.eval_mc_records(seed, world, langs),
        "arith/train.jsonl": arith_train,
        "arith/test.jsonl": arith.arith_records(test, langs, "arith-test"),
        "rag/qa.jsonl": rag_qa(seed, world, langs),
    }


def _check_langs(langs: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    """The languages in canonical order; anything outside {en, ko} is the user's error."""
    if isinstance(langs, str):
        langs = (langs,)
    unknown = sorted(set(langs) - set(LANGS))
    if unknown or not langs:
        raise LmforgeError(
            f"Unknown or missing lab language(s): {', '.join(map(repr, unknown)) or 'none given'}.",
            f"Use a non-empty subset of: {', '.join(LANGS)}.",
        )
    return tuple(lang for lang in LANGS if lang in langs)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _write_lab_json(
    out: Path, seed: int, langs: tuple[str, ...], size: str, counts: dict[str, int]
) -> None:
    """lab.json: what was generated, how much of it, and the sha256 of every file."""
    files = {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("lab.json", "lmforge.json") and p.name[0] != "."
    }
    lab = {
        "generator": GENERATOR,
        "seed": seed,
        "langs": list(langs),
        "size": size,
        "counts": counts,
        "files": files,
    }
    _write_text(out / "lab.json", _dumps(lab))
