"""What the estimators share: turning X into texts, checking y, finding the backend, parsing.

X is either a 1-D sequence of texts, or a 2-D table whose rows are written as text (values
joined by spaces, or "name: value" pairs when the columns have names) — the second form is
what scikit-learn's checks, `ColumnTransformer` and data frames hand an estimator.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _assert_all_finite, column_or_1d, validate_data

from lmforge.infer.backends import load_backend
from lmforge.infer.backends.base import Backend


def backend_for(model) -> Backend:
    """The backend of a `model=` parameter: a Backend as is, a spec string loaded once."""
    if model is None:
        raise ValueError("model= is required: a model directory, openai/<model>, or a Backend.")
    if isinstance(model, Backend):
        return model
    return _load(str(model))


@lru_cache(maxsize=4)
def _load(spec: str) -> Backend:
    # GridSearchCV fits many clones: a local model is loaded once, not once per fold
    return load_backend(spec)


def is_texts(X) -> bool:
    """Whether X is a 1-D sequence of strings (rather than a table)."""
    if isinstance(X, str):
        raise ValueError("X must be a sequence of texts, not one string: wrap it in a list.")
    array = np.asarray(X, dtype=object) if not hasattr(X, "toarray") else None
    return array is not None and array.ndim == 1 and all(isinstance(v, str) for v in array)


def fit_inputs(estimator, X, y, multi_output: bool = False):
    """(texts, y) for fit; records how X came (texts or a table) so predict can check it."""
    estimator._text_input_ = is_texts(X)
    if estimator._text_input_:
        for attribute in ("n_features_in_", "feature_names_in_"):  # a refit on texts
            estimator.__dict__.pop(attribute, None)
        texts = [str(v) for v in np.asarray(X, dtype=object)]
        if not texts:
            raise ValueError("X holds no texts: at least one is needed to fit.")
        if y is None:
            raise ValueError(f"{type(estimator).__name__} requires y to be passed.")
        y = y if multi_output else _targets(y)
    else:
        X, y = validate_data(estimator, X, y, dtype=None, multi_output=multi_output)
        texts = rows_as_text(X, getattr(estimator, "feature_names_in_", None))
        if not multi_output:
            check_classification_targets(y)
    if len(texts) != len(y):
        raise ValueError(f"X has {len(texts)} rows but y has {len(y)}.")
    return texts, y


def predict_inputs(estimator, X) -> list[str]:
    """The texts of X at predict time, in the form fit saw."""
    if estimator._text_input_:
        if not is_texts(X):
            raise ValueError("this estimator was fitted on texts: give a 1-D sequence of texts.")
        return [str(v) for v in np.asarray(X, dtype=object)]
    X = validate_data(estimator, X, dtype=None, reset=False)
    return rows_as_text(X, getattr(estimator, "feature_names_in_", None))


def _targets(y) -> np.ndarray:
    y = column_or_1d(np.asarray(y), warn=True)
    if y.dtype.kind == "f":
        _assert_all_finite(y, input_name="y")
    check_classification_targets(y)
    return y


def rows_as_text(X: np.ndarray, names=None) -> list[str]:
    """Each table row as one text: "v1 v2 ...", or "name: v, ..." when columns have names."""
    if names is None:
        return [" ".join(_cell(v) for v in row) for row in X]
    return [", ".join(f"{n}: {_cell(v)}" for n, v in zip(names, row, strict=True)) for row in X]


def _cell(value) -> str:
    # six significant digits: enough to tell values apart, few tokens for the model
    return f"{value:.6g}" if isinstance(value, float | np.floating) else str(value)


def label_names(classes: np.ndarray) -> list[str]:
    """The text of each class as the model reads and writes it; they must differ."""
    names = [str(c).strip() for c in classes]
    if "" in names or len(set(names)) != len(names):
        raise ValueError(f"labels {list(classes)!r} are empty or equal as text.")
    return names


def row_seed(seed: int, text: str) -> int:
    """A sampling seed per text: a row's prediction never depends on the others in X."""
    return (seed + int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)) % 2**31


def norm(text: str) -> str:
    text = " ".join(text.casefold().split())
    return text.strip(" .,!:;\"'`*")


def find_label(text: str, labels: list[str]) -> str | None:
    """The label a reply names: the whole reply, else the only label it contains, else None."""
    key = norm(text)
    exact = [label for label in labels if norm(label) == key]
    if exact:
        return exact[0]
    found = [label for label in labels if _contains(key, norm(label))]
    return found[0] if len(found) == 1 else None


def _contains(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
