"""Embedders: all-MiniLM-L6-v2 offline, TF-IDF, and the specs knn selection and sklearn accept."""

from __future__ import annotations

import numpy as np
import pytest

from lmforge.embed import TfidfEmbedder, load_embedder
from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import write_jsonl
from lmforge.prompting.selection import make_selector
from lmforge.prompting.templates import Demo
from lmforge.sklearn import DynamicFewShotClassifier
from support import run_cli, single_thread


@pytest.fixture(scope="module")
def minilm():
    with single_thread():
        yield load_embedder("minilm")


def cosine(embed, a: str, b: str) -> float:
    va, vb = embed([a, b])
    return float(np.dot(va, vb))


def test_minilm_loads_offline_and_gives_unit_vectors(minilm):
    with single_thread():
        vectors = minilm(["The town of Kamori exports copper.", "카모리는 구리를 수출한다."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.spec == "minilm" and minilm([]).shape == (0, 384)
    assert load_embedder("minilm") is minilm  # loaded once per process


def test_minilm_puts_paraphrases_closer_than_unrelated_text(minilm):
    with single_thread():
        en_close = cosine(minilm, "The cat sits on the mat.", "A cat is sitting on a mat.")
        en_far = cosine(minilm, "The cat sits on the mat.", "Stock markets fell sharply today.")
        cat = "고양이가 매트 위에 앉아 있다."
        ko_close = cosine(minilm, cat, "매트 위에 고양이가 앉아 있습니다.")
        ko_far = cosine(minilm, cat, "오늘 주식 시장이 급락했다.")
    assert en_close > 0.8 and en_close - en_far > 0.5
    assert ko_close > ko_far + 0.2


def test_tfidf_needs_a_corpus_and_weighs_rare_words():
    with pytest.raises(LmforgeError, match="needs a corpus"):
        load_embedder("tfidf")
    embed = load_embedder("tfidf", corpus=["the town exports copper", "the town exports wool"])
    assert isinstance(embed, TfidfEmbedder) and embed.spec == "tfidf" and embed.dim == 5
    vectors = embed(["copper", "the", "unknown words only"])
    copper, the = vectors[0].max(), vectors[1].max()
    assert copper > the > 0 and not vectors[2].any()  # rarer word, higher weight; OOV is zero
    korean = TfidfEmbedder(["카모리는 구리를 수출한다", "벨덴은 양모를 수출한다"])
    assert cosine(korean, "카모리는 구리를", "카모리는 구리를 수출한다") > 0.5  # eojeol are words


def test_bad_embedder_specs_are_user_errors(tmp_path):
    with pytest.raises(LmforgeError, match="neither minilm, tfidf nor a directory"):
        load_embedder(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(LmforgeError, match="not a sentence-transformers model directory"):
        load_embedder(str(tmp_path))


POOL = [
    Demo("What is the capital of the region?", "Orlen"),
    Demo("Which animal is the town's symbol?", "fox"),
    Demo("What does the town sell to other countries?", "copper"),
    Demo("When was the town founded?", "1352"),
]
QUERY = "Which goods are exported by Kamori?"  # no content word in common with its neighbour


def test_knn_selection_with_minilm_finds_meaning_tfidf_misses(minilm):
    with single_thread():
        neural = make_selector("knn", POOL, 2, embedder="minilm")(QUERY)
    lexical = make_selector("knn", POOL, 2, embedder="tfidf")(QUERY)
    assert neural[0].answer == "copper"
    assert lexical[0].answer == "fox"  # TF-IDF only sees the shared word "which"


def test_prompt_render_selects_demonstrations_with_the_embedder(tmp_path, minilm, capsys):
    task = tmp_path / "task.jsonl"
    demos = [{"id": str(n), "question": d.question, "answer": d.answer} for n, d in enumerate(POOL)]
    write_jsonl(task, [{"id": "query", "question": QUERY, "answer": "copper"}, *demos])
    args = ["prompt", "render", "--model", "scripted", "--task", str(task), "--shots", "1"]
    args += ["--selection", "knn", "--mode", "completion"]
    with single_thread():
        code, neural = run_cli(capsys, *args, "--embedder", "minilm")
    assert code == 0, neural
    assert neural.startswith(f"Question: {POOL[2].question}\nAnswer: copper\n\n")
    code, lexical = run_cli(capsys, *args)  # --embedder tfidf by default
    assert lexical.startswith(f"Question: {POOL[1].question}\n")


def test_dynamic_few_shot_classifier_takes_an_embedder_name(minilm):
    texts = [p.question for p in POOL]
    backend = ScriptedBackend(lambda prompt, options: "trade")
    clf = DynamicFewShotClassifier(model=backend, n_neighbors=1, embed="minilm")
    assert clf.get_params()["embed"] == "minilm"  # the constructor only stores it
    with single_thread():
        clf.fit(texts, ["place", "symbol", "trade", "history"])
        assert clf.demos_for(QUERY)[0].question == POOL[2].question
    with pytest.raises(LmforgeError, match="neither minilm, tfidf nor a directory"):
        DynamicFewShotClassifier(model=backend, embed="no-such-model").fit(texts, [0, 1, 2, 3])
