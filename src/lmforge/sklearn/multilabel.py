"""Zero-shot multi-label classification: each label is decided on its own.

y is a list of label collections (`[["sport"], ["sport", "money"], []]`) or a binary
indicator matrix (label names from `labels=`, else the column numbers). `predict` returns
the indicator matrix (columns in `classes_` order); `predict_proba` one probability per
label (rows need not sum to 1). With log-likelihoods: P(label) = softmax of
log P(" yes") and log P(" no") after 'Text: ...\\nLabel "sport" applies (yes or no):'.
Without: the share of `n_samples` replies to "Labels:" (comma-separated) that list it.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from lmforge.sklearn import _inputs as inputs
from lmforge.sklearn.classifiers import PromptClassifier, seed_of

INSTRUCTION = (
    "Which of these labels apply to the text: {labels}? "
    "Answer with the labels that apply, separated by commas, or none."
)
NONE = ("none", "no label", "no labels")


class MultiLabelZeroShotClassifier(PromptClassifier):
    """Zero-shot multi-label classifier; `threshold` turns per-label probabilities into 0/1."""

    def __init__(
        self, model=None, labels=None, threshold=0.5, instruction=None, n_samples=5,
        temperature=0.7, max_tokens=32, on_unparsed="prior", random_state=None,
    ):  # fmt: skip
        super().__init__(
            model, instruction, n_samples, temperature, max_tokens, on_unparsed, random_state
        )
        self.labels = labels
        self.threshold = threshold

    def fit(self, X, y):
        """Store the labels (classes_) and how often each applies in y."""
        if self.on_unparsed not in ("prior", "raise"):
            raise ValueError(f"on_unparsed={self.on_unparsed!r}: use 'prior' or 'raise'.")
        inputs.backend_for(self.model)
        _, y = inputs.fit_inputs(self, X, y, multi_output=True)
        indicator, self.classes_ = self._indicator(y)
        self._labels_ = inputs.label_names(self.classes_)
        self.class_prior_ = indicator.mean(axis=0)
        self._seed_ = seed_of(self.random_state)
        self.unparsed_: list[dict] = []
        return self

    def _indicator(self, y) -> tuple[np.ndarray, np.ndarray]:
        if type_of_target(y) == "multilabel-indicator":
            matrix = np.asarray(y, dtype=int)
            names = self.labels if self.labels is not None else range(matrix.shape[1])
            classes = np.asarray(list(names), dtype=object)
            if len(classes) != matrix.shape[1]:
                raise ValueError(f"{len(classes)} labels= for {matrix.shape[1]} columns of y.")
            return matrix, classes
        if any(isinstance(row, str) for row in y):
            raise ValueError("y must hold a collection of labels per text, e.g. [['a'], []].")
        binarizer = MultiLabelBinarizer(classes=self.labels).fit(y)
        return binarizer.transform(y), np.asarray(binarizer.classes_, dtype=object)

    def prompt(self, text: str, mode: str = "completion", label: str | None = None):
        """The prompt for `text`: asking about one `label`, or for the list of labels."""
        check_is_fitted(self)
        instruction = (self.instruction or INSTRUCTION).format(labels=", ".join(self._labels_))
        if label is not None:
            return f'Text: {text}\nLabel "{label}" applies (yes or no):'
        if mode == "chat":
            return [{"role": "system", "content": instruction}, {"role": "user", "content": text}]
        return f"{instruction}\n\nText: {text}\nLabels:"

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold).astype(int)

    def _loglik_proba(self, backend, texts: list[str]) -> np.ndarray:
        requests = [
            (self.prompt(t, label=label), answer)
            for t in texts
            for label in self._labels_
            for answer in (" yes", " no")
        ]
        scores = np.array(backend.loglikelihoods(requests), dtype=float).reshape(-1, 2)
        self.unparsed_.clear()
        return inputs.softmax(scores)[:, 0].reshape(len(texts), len(self._labels_))

    def _vote_proba(self, backend, texts: list[str]) -> np.ndarray:
        mode = "completion" if "completion" in backend.capabilities else "chat"
        rows, unparsed = [], []
        for i, text in enumerate(texts):
            replies = self._sample(backend, text, mode)
            parsed = [p for p in (self._parse(r) for r in replies) if p is not None]
            if not parsed:
                unparsed.append({"index": i, "text": text, "replies": list(replies)})
                rows.append(self.class_prior_)
                continue
            rows.append([sum(label in p for p in parsed) / len(parsed) for label in self._labels_])
        self._record_unparsed(unparsed)
        return np.array(rows, dtype=float)

    def _parse(self, reply: str) -> set[str] | None:
        """The labels a reply lists; an empty set for "none"; None when it names nothing."""
        line = reply.strip().splitlines()[0] if reply.strip() else ""
        if inputs.norm(line) in NONE:
            return set()
        found = {inputs.find_label(part, self._labels_) for part in line.split(",")}
        found.discard(None)
        return found or None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        return tags
