"""scikit-learn's own estimator checks on the classifiers, over a fast deterministic backend.

Checks a text classifier cannot pass are expected failures, each with its reason (listed in
docs/prompting.md too).
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn_scorer import NearestDemoScorer, numbers

from lmforge.sklearn import DynamicFewShotClassifier, FewShotClassifier, ZeroShotClassifier

ESTIMATORS = [
    ZeroShotClassifier(model=NearestDemoScorer()),
    FewShotClassifier(model=NearestDemoScorer(), max_demos=60, random_state=0),
    FewShotClassifier(model=NearestDemoScorer(loglikelihood=False), max_demos=60, n_samples=2),
    DynamicFewShotClassifier(model=NearestDemoScorer(), n_neighbors=5, embed=numbers),
]

ZERO_SHOT = {
    "check_classifiers_train": "zero-shot ignores the training pairs (it only learns the label "
    "names), so it cannot fit scikit-learn's numeric blobs above 83% training accuracy",
}


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, ZeroShotClassifier):
        return ZERO_SHOT
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)
