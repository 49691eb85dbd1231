"""The classifiers' prompts, probabilities, unparsed replies and scikit-learn composition."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn_scorer import NearestDemoScorer

from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend, load_backend
from lmforge.sklearn import (
    DynamicFewShotClassifier,
    FewShotClassifier,
    MultiLabelZeroShotClassifier,
    UnparsedReplyWarning,
    ZeroShotClassifier,
)
from support import single_thread

TEXTS = ["the copper mine", "a fox in the forest", "copper prices rise", "the fox sleeps"]
LABELS = ["metal", "animal", "metal", "animal"]
HEAD = "Classify the text as one of these labels: animal, metal. Answer with the label only."


def test_zero_shot_proba_is_the_softmax_of_label_logliks():
    backend = ScriptedBackend(logliks=lambda c, x: -1.0 if x == " metal" else -3.0)
    clf = ZeroShotClassifier(model=backend).fit(TEXTS, LABELS)
    proba = clf.predict_proba(["copper ore"])
    prompt = f"{HEAD}\n\nText: copper ore\nLabel:"
    assert backend.calls[-1].prompt == [(prompt, " animal"), (prompt, " metal")]
    assert list(clf.classes_) == ["animal", "metal"]
    assert proba[0] == pytest.approx([1 / (1 + np.e**2), np.e**2 / (1 + np.e**2)])
    assert list(clf.predict(["copper ore"])) == ["metal"] and clf.unparsed_ == []


def test_few_shot_shows_demos_and_dynamic_picks_the_nearest():
    few = FewShotClassifier(model=NearestDemoScorer()).fit(TEXTS[:2], LABELS[:2])
    assert few.prompt("x") == (
        f"{HEAD}\n\nText: the copper mine\nLabel: metal\n\n"
        "Text: a fox in the forest\nLabel: animal\n\nText: x\nLabel:"
    )
    dynamic = DynamicFewShotClassifier(model=NearestDemoScorer(), n_neighbors=1).fit(TEXTS, LABELS)
    assert dynamic.prompt("a fox") == (  # the nearest by TF-IDF shares "a" and "fox"
        f"{HEAD}\n\nText: a fox in the forest\nLabel: animal\n\nText: a fox\nLabel:"
    )
    assert list(dynamic.predict(["a fox", "copper"])) == ["animal", "metal"]


def test_votes_without_logliks_are_seeded_per_text_and_unparsed_gets_the_prior():
    def reply(prompt, options):
        if "Text: ???" in prompt:
            return "I cannot tell"
        return "Metal." if options["seed"] % 2 else "animal"

    backend = ScriptedBackend(reply, capabilities={"completion"})
    clf = FewShotClassifier(model=backend, n_samples=3, random_state=7).fit(TEXTS, LABELS)
    with pytest.warns(UnparsedReplyWarning):
        proba = clf.predict_proba(["copper", "???"])
    first = backend.calls[0].options
    assert first["n"] == 3 and first["temperature"] == 0.7 and first["stop"] == ["\n"]
    assert proba[0].tolist() in ([1.0, 0.0], [0.0, 1.0])  # three equal samples of one label
    assert proba[1].tolist() == [0.5, 0.5]  # the training frequencies
    assert clf.unparsed_ == [{"index": 1, "text": "???", "replies": ["I cannot tell"] * 3}]
    with pytest.warns(UnparsedReplyWarning):  # same seed per text, whatever its position
        again = clf.predict_proba(["???", "copper"])
    assert again[1].tolist() == proba[0].tolist() and clf.unparsed_[0]["index"] == 0
    with pytest.raises(LmforgeError, match="unparsed_"):
        clf.set_params(on_unparsed="raise").fit(TEXTS, LABELS).predict(["???"])


def test_unparsed_prediction_is_the_most_frequent_class_never_random():
    backend = ScriptedBackend(lambda p, o: "no idea", capabilities={"completion"})
    clf = ZeroShotClassifier(model=backend).fit(TEXTS[:3], LABELS[:3])
    with pytest.warns(UnparsedReplyWarning):
        assert list(clf.predict(["a", "b"])) == ["metal", "metal"]


def test_pipeline_clone_and_grid_search():
    pipe = make_pipeline(FunctionTransformer(lambda xs: [x.upper() for x in xs]),
                         DynamicFewShotClassifier(model=NearestDemoScorer()))  # fmt: skip
    search = GridSearchCV(pipe, {"dynamicfewshotclassifier__n_neighbors": [1, 2]}, cv=2)
    search.fit(TEXTS * 2, LABELS * 2)
    assert search.best_params_ and list(search.predict(["A FOX"])) == ["animal"]
    copy = clone(FewShotClassifier(model="scripted", max_demos=3))
    assert copy.get_params()["max_demos"] == 3 and not hasattr(copy, "classes_")


def test_bad_inputs_are_clear_errors():
    clf = ZeroShotClassifier(model=NearestDemoScorer())
    with pytest.raises(ValueError, match="model= is required"):
        ZeroShotClassifier().fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="one string"):
        clf.fit("a text", ["x"])
    with pytest.raises(ValueError, match="fitted on texts"):
        clf.fit(TEXTS, LABELS).predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="equal as text"):
        clf.fit(["a", "b"], ["yes", "yes "])


def test_multilabel_asks_yes_or_no_per_label():
    def loglik(context, answer):
        label = context.split('Label "')[1].split('"')[0]
        return 0.0 if (answer == " yes") == (label in context.split("\n")[0]) else -2.0

    backend = ScriptedBackend(logliks=loglik)
    clf = MultiLabelZeroShotClassifier(model=backend).fit(["a"], [["fox", "copper"]])
    assert list(clf.classes_) == ["copper", "fox"]
    assert clf.predict(["Text: the fox"]).tolist() == [[0, 1]]
    assert backend.calls[-1].prompt[0] == (
        'Text: Text: the fox\nLabel "copper" applies (yes or no):',
        " yes",
    )
    assert clf.predict_proba(["fox copper"])[0] == pytest.approx([1 / (1 + np.e**-2)] * 2)


def test_multilabel_votes_and_indicator_targets():
    replies = iter(["fox, copper", "none", "fox"])
    backend = ScriptedBackend(lambda p, o: next(replies), capabilities={"completion"})
    clf = MultiLabelZeroShotClassifier(model=backend, labels=["copper", "fox"], n_samples=3)
    clf.fit(["x", "y"], np.array([[1, 0], [1, 1]]))
    assert clf.predict_proba(["a fox"])[0].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert list(clf.classes_) == ["copper", "fox"] and clf.class_prior_.tolist() == [1.0, 0.5]
    assert backend.prompts[0].endswith("Text: a fox\nLabels:")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_real_tiny_model_probabilities_come_from_logliks(tiny_model_dir):
    with single_thread():
        clf = FewShotClassifier(model=str(tiny_model_dir)).fit(TEXTS[:2], ["copper", "fox"])
        proba = clf.predict_proba(["the town of kamori"])
        backend = load_backend(tiny_model_dir)
        prompt = clf.prompt("the town of kamori")
        logliks = backend.loglikelihoods([(prompt, " copper"), (prompt, " fox")])
    assert proba.sum(axis=1) == pytest.approx([1.0])
    expected = np.exp(logliks) / np.exp(logliks).sum()
    assert proba[0] == pytest.approx(expected, rel=1e-4)
