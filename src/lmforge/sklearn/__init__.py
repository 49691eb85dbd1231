"""scikit-learn classifiers whose predictions come from a language model backend.

    from lmforge.sklearn import DynamicFewShotClassifier
    clf = DynamicFewShotClassifier(model="quickstart/sft", n_neighbors=4).fit(texts, labels)
    clf.predict(["a new text"]), clf.predict_proba(["a new text"]), clf.classes_

`model=` is a backend spec (a model directory, `openai/<model>`) or a Backend object. They
follow the scikit-learn estimator contract (clone, Pipeline, GridSearchCV; tested with
`parametrize_with_checks`). See docs/prompting.md.
"""

from lmforge.sklearn.classifiers import (
    DynamicFewShotClassifier,
    FewShotClassifier,
    PromptClassifier,
    UnparsedReplyWarning,
    ZeroShotClassifier,
)
from lmforge.sklearn.multilabel import MultiLabelZeroShotClassifier

__all__ = [
    "DynamicFewShotClassifier",
    "FewShotClassifier",
    "MultiLabelZeroShotClassifier",
    "PromptClassifier",
    "UnparsedReplyWarning",
    "ZeroShotClassifier",
]
