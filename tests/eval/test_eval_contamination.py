"""Contamination: n-gram overlap of a task's examples with a training corpus (tiny lab, EN + KO)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval.contamination import check_contamination, ngram_hashes, word_hashes, words
from lmforge.eval.task import load_task
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.runs import read_manifest
from support import run_cli


@pytest.fixture(scope="module")
def curated(tiny_lab, tmp_path_factory) -> Path:
    """The tiny lab's pretraining text, curated as `lmforge data curate` does."""
    from lmforge.data.curate import curate_basic

    out = tmp_path_factory.mktemp("curated") / "curated"
    curate_basic([tiny_lab / "raw"], out)
    return out


def plant(curated: Path, root: Path, texts: list[str]) -> Path:
    """A copy of the curated corpus with extra documents in a shard of their own."""
    corpus = root / "planted"
    shutil.copytree(curated / "kept", corpus)
    write_jsonl(corpus / "planted.jsonl", [
        {"id": f"planted-{i}", "text": text} for i, text in enumerate(texts)
    ])  # fmt: skip
    return corpus


def test_words_are_normalised_and_korean_particles_dropped():
    assert words("카모리는 벨덴 지방의 마을이다.") == ["카모리", "벨덴", "지방", "마을"]
    assert words("카모리가") == words("카모리를") == words("카모리에서") == ["카모리"]
    got = words("GPU는 3개를, Kamori's ＣＯＰＰＥＲ! B2B")
    assert got == ["gpu", "3", "개", "kamori", "s", "copper", "b2b"]  # fmt: skip
    assert words("가 는") == ["가", "는"]  # a particle alone is a word of its own


def test_the_overlap_is_the_share_of_shared_n_grams(tmp_path):
    text = " ".join(f"w{i}" for i in range(20))  # 20 words: eight 13-grams
    write_jsonl(tmp_path / "task.jsonl", [
        {"id": "long", "question": text, "answer": "end"},
        {"id": "other", "question": "an unrelated question about salt and wool", "answer": "x"},
    ])  # fmt: skip
    first_15 = " ".join(f"w{i}" for i in range(15))  # holds 3 of the example's 13-grams
    write_jsonl(tmp_path / "corpus" / "c.jsonl", [{"id": "c1", "text": f"Intro. {first_15}."}])
    report = check_contamination(str(tmp_path / "task.jsonl"), [tmp_path / "corpus"],
                                 show_progress=False)  # fmt: skip
    long, other = report["rows"]
    assert (long["n"], long["ngrams"], long["matched"]) == (13, 9, 3)  # 21 words with the answer
    assert long["overlap"] == pytest.approx(3 / 9) and long["flagged"] and long["docs"] == ["c1"]
    assert (other["n"], other["matched"], other["flagged"]) == (8, 0, False)  # a short example
    strict = check_contamination(str(tmp_path / "task.jsonl"), [tmp_path / "corpus"],
                                 threshold=0.5, show_progress=False)  # fmt: skip
    assert not strict["rows"][0]["flagged"]  # PaLM-style: most of the example must be there


def test_n_gram_hashes():
    values = word_hashes(words("a b c a b c"))
    assert ngram_hashes(values, 3).size == 3  # abc, bca, cab
    assert ngram_hashes(values, 7).size == 0
    assert not set(ngram_hashes(values, 2).tolist()) & set(ngram_hashes(values, 3).tolist())


def test_the_lab_eval_questions_are_not_in_the_pretraining_corpus(tiny_lab, curated):
    for name in ("lab-qa", "lab-mc", "lab-arith"):
        report = check_contamination(name, [curated], data=tiny_lab, show_progress=False)
        assert report["documents"] > 0 and report["skipped"] == 0
        assert report["flagged"] == 0 and report["mean_overlap"] == 0.0, name


def test_a_planted_question_is_found_in_either_language(tiny_lab, curated, tmp_path):
    qa = load_task("lab-qa", tiny_lab)
    en = next(e for e in qa.examples if e["lang"] == "en")
    ko = next(e for e in qa.examples if e["lang"] == "ko" and "의 " in e["question"])
    # the Korean copy changes particles (의 -> 에서, 은 -> 이) and punctuation
    ko_text = ko["question"].replace("의 ", "에서 ").replace("은 ", "이 ").rstrip("?")
    corpus = plant(curated, tmp_path, [
        f"Quiz night notes. {en['question']} {en['answer'].capitalize()}, of course. Next round.",
        f"오늘의 퀴즈: {ko_text} — {ko['answer']}. 다음 문제로 넘어간다.",
    ])  # fmt: skip
    out = tmp_path / "report"
    report = check_contamination("lab-qa", [corpus], out, data=tiny_lab, show_progress=False)
    flagged = {r["id"]: r for r in report["rows"] if r["flagged"]}
    assert set(flagged) == {en["id"], ko["id"]}
    assert flagged[en["id"]]["docs"] == ["planted-0"] and flagged[ko["id"]]["docs"] == ["planted-1"]
    assert report["flagged"] == 2 and report["examples"] == len(qa)
    clean = read_jsonl(out / "clean.jsonl")
    assert len(clean) == len(qa) - 2 and en["id"] not in {r["id"] for r in clean}
    assert [r["id"] for r in read_jsonl(out / "flagged.jsonl")] == [en["id"], ko["id"]]
    assert len(load_task(str(out / "clean.jsonl"))) == len(qa) - 2  # the clean subset is a task
    saved = json.loads((out / "contamination.json").read_text(encoding="utf-8"))
    assert saved["flagged"] == 2 and len(saved["rows"]) == len(qa)
    manifest = read_manifest(out)
    assert manifest["kind"] == "contamination" and set(manifest["inputs"]) == {"corpus:0", "data"}
    assert manifest["metrics"]["flagged"] == 2


def test_a_yaml_task_keeps_its_own_rows_in_the_clean_subset(tmp_path):
    write_jsonl(tmp_path / "rows.jsonl", [
        {"id": "r0", "q": "Which town of Velden exports the most copper?", "a": "Kamori"},
        {"id": "r1", "q": "Which town of Dahosol exports the most salt?", "a": "Tessa"},
    ])  # fmt: skip
    spec = "data: rows.jsonl\nprompt: 'Q: {{ q }} A:'\ntarget: a\n"
    (tmp_path / "t.yaml").write_text(spec, encoding="utf-8")
    write_jsonl(tmp_path / "corpus.jsonl", [
        {"text": "Which town of Velden exports the most copper? Kamori does."},
        {"text": "not json"},
    ])  # fmt: skip
    with (tmp_path / "corpus.jsonl").open("a", encoding="utf-8") as f:
        f.write("{broken\n")
    out = tmp_path / "out"
    report = check_contamination(str(tmp_path / "t.yaml"), [tmp_path / "corpus.jsonl"], out,
                                 show_progress=False)  # fmt: skip
    # the template's own words ("Q:", "A:") are not looked for: the corpus would not have them
    assert load_task(str(tmp_path / "t.yaml")).examples[0]["content"] == (
        "Which town of Velden exports the most copper?"
    )
    assert [r["flagged"] for r in report["rows"]] == [True, False]
    assert (report["documents"], report["skipped"]) == (2, 1)  # unreadable lines are counted
    assert read_jsonl(out / "clean.jsonl") == [
        {"id": "r1", "q": "Which town of Dahosol exports the most salt?", "a": "Tessa"}
    ]


def test_bad_options(tiny_lab, curated, tmp_path):
    with pytest.raises(LmforgeError, match="n-gram sizes must be 1 or more"):
        check_contamination("lab-qa", [curated], data=tiny_lab, n=0)
    with pytest.raises(LmforgeError, match=r"threshold 1\.5 is not between 0 and 1"):
        check_contamination("lab-qa", [curated], data=tiny_lab, threshold=1.5)
    with pytest.raises(LmforgeError, match="does not exist"):
        check_contamination("lab-qa", [tmp_path / "nope"], data=tiny_lab)


def test_contamination_cli(capsys, tiny_lab, curated, tmp_path):
    qa = load_task("lab-qa", tiny_lab)
    example = qa.examples[0]
    corpus = plant(curated, tmp_path, [f"{example['question']} {example['answer']}"])
    code, output = run_cli(
        capsys, "eval", "contamination", "--task", "lab-qa", "--data", str(tiny_lab),
        "--corpus", str(corpus), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0, output
    assert f"1 of {len(qa)} flagged" in output and example["id"] in output
    assert (tmp_path / "out" / "clean.jsonl").is_file()
