"""Recipes: validation with clear errors, curation with a recipe, report.md, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.data.curate import basic_steps, curate, step_config
from lmforge.data.pii import find_pii
from lmforge.data.recipe import STEPS, load_recipe, parse_recipe
from lmforge.errors import LmforgeError
from lmforge.runs import read_manifest
from support import run_cli

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "data"


def test_basic_recipe_is_curate_basic():
    recipe = load_recipe(RECIPES / "basic.yaml")
    assert [step_config(s) for s in recipe.steps] == [step_config(s) for s in basic_steps()]


def test_web_recipe_loads_with_tuples():
    recipe = load_recipe(RECIPES / "web-en-ko.yaml")
    assert recipe.name == "web-en-ko"
    repetition = next(s for s in recipe.steps if s.name == "gopher_repetition")
    assert repetition.top_ngrams == ((2, 0.32), (3, 0.30), (4, 0.25))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": ["boilerplate", "dedupe"]}, "step 2: unknown step 'dedupe'"),
        ({"steps": [{"junk": {"min_word": 3}}]}, "unknown parameter(s) 'min_word'"),
        ({"steps": [{"minhash_dedup": {"shingle": "tok:3"}}]}, "word:N or char:N"),
        ({"steps": []}, "no steps"),
        ({"step": ["junk"]}, "a `steps:` list"),
        ({"steps": ["junk"], "stpes": 1}, "unknown recipe field"),
        ({"steps": [["junk"]]}, "expected a step name"),
    ],
)
def test_recipe_errors_are_clear(data, message):
    with pytest.raises(LmforgeError) as info:
        parse_recipe(data, "r.yaml")
    assert message in str(info.value)


def test_unknown_step_lists_the_known_ones():
    with pytest.raises(LmforgeError) as info:
        parse_recipe({"steps": ["nope"]})
    assert all(name in str(info.value) for name in STEPS)


def test_curate_with_the_web_recipe_on_the_lab(tiny_lab, tmp_path):
    recipe = load_recipe(RECIPES / "web-en-ko.yaml")
    out = tmp_path / "curated"
    stats = curate([tiny_lab / "raw"], out, recipe.steps, recipe=recipe.describe())
    assert stats["read"] == stats["kept"] + stats["dropped"] + stats["quarantined"]
    assert stats["pii_by_kind"] and "duplicate_clusters" in stats
    kept = (out / "kept" / "docs.jsonl").read_text(encoding="utf-8").splitlines()
    assert not any(find_pii(json.loads(line)["text"]) for line in kept)  # all redacted
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "recipe `web-en-ko`" in report and "## PII redacted, by kind" in report
    assert "## Duplicate clusters" in report
    manifest = read_manifest(out)
    assert manifest["config"]["recipe"]["name"] == "web-en-ko"


def test_cli_pii_dedup_and_curate_recipe(tiny_lab, tmp_path, capsys):
    raw = str(tiny_lab / "raw")
    code, _ = run_cli(capsys, "data", "pii", "-i", raw, "-o", str(tmp_path / "pii"))
    assert code == 0
    stats = json.loads((tmp_path / "pii" / "stats.json").read_text(encoding="utf-8"))
    assert stats["dropped"] == 0 and sum(stats["pii_by_kind"].values()) > 0
    for sub in ("kept", "dropped", "quarantine"):
        assert (tmp_path / "pii" / sub).is_dir()
    args = ["data", "dedup", "-i", raw, "-o", str(tmp_path / "dd"), "--threshold", "0.6"]
    code, _ = run_cli(capsys, *args, "--shingle", "word:3", "--verify")
    assert code == 0
    assert "near_duplicate" in (tmp_path / "dd" / "stats.json").read_text(encoding="utf-8")
    code, out = run_cli(capsys, *args[:-2], "--shingle", "bad")
    assert code != 0 and "word:N or char:N" in out
    recipe = str(RECIPES / "web-en-ko.yaml")
    code, _ = run_cli(capsys, "data", "curate", "-i", raw, "-o", str(tmp_path / "c"), "-r", recipe)
    assert code == 0 and (tmp_path / "c" / "report.md").is_file()
