"""Single-label classifiers over a backend: zero-shot, few-shot, and k-nearest few-shot.

Each prompt is the completion text of `prompting.templates` ("Text: ...\\nLabel:" blocks under
an instruction that lists the labels). With a backend that scores log-likelihoods,
`predict_proba` is the softmax over labels of log P(" label" | prompt); otherwise it is the
share of `n_samples` sampled replies (seeded per text) that name each label. Predictions are
always one of `classes_` (the sorted labels of y): the probabilities are over those labels only.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from lmforge.errors import LmforgeError
from lmforge.prompting.selection import KNNSelector, knn_embed
from lmforge.prompting.templates import Demo, PromptTemplate, render
from lmforge.sklearn import _inputs as inputs

INSTRUCTION = "Classify the text as one of these labels: {labels}. Answer with the label only."


def seed_of(random_state) -> int:
    """The base sampling seed: 0 for None (backends are seeded anyway), else drawn from it."""
    if random_state is None:
        return 0
    return int(check_random_state(random_state).randint(2**31 - 1))


class UnparsedReplyWarning(UserWarning):
    """No sampled reply for a text named a label; it was given the most frequent class."""


class PromptClassifier(ClassifierMixin, BaseEstimator):
    """Shared machinery; subclasses choose the demonstrations of each prompt.

    Parameters are stored as given (scikit-learn convention); they are checked in `fit`.
    on_unparsed: "prior" (a text whose replies name no label gets the training class
    frequencies as probabilities, so the most frequent class, with an UnparsedReplyWarning)
    or "raise" (LmforgeError). Never a random label.
    """

    def __init__(
        self, model=None, instruction=None, n_samples=5, temperature=0.7, max_tokens=16,
        on_unparsed="prior", random_state=None,
    ):  # fmt: skip
        self.model = model
        self.instruction = instruction
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.on_unparsed = on_unparsed
        self.random_state = random_state

    def fit(self, X, y):
        """Store the labels (classes_), their frequencies and the demonstrations."""
        if self.on_unparsed not in ("prior", "raise"):
            raise ValueError(f"on_unparsed={self.on_unparsed!r}: use 'prior' or 'raise'.")
        inputs.backend_for(self.model)  # a bad spec fails here, not at predict time
        texts, y = inputs.fit_inputs(self, X, y)
        self.classes_, counts = np.unique(y, return_counts=True)
        self._labels_ = inputs.label_names(self.classes_)
        self.class_prior_ = counts / counts.sum()
        self._seed_ = seed_of(self.random_state)
        self._fit_demos([Demo(t, str(label).strip()) for t, label in zip(texts, y, strict=True)])
        self.unparsed_: list[dict] = []
        return self

    def _fit_demos(self, demos: list[Demo]) -> None:
        self._demos_ = []

    def demos_for(self, text: str) -> list[Demo]:
        return self._demos_

    def prompt(self, text: str, mode: str = "completion"):
        """The exact prompt sent for `text` (a string, or messages in chat mode)."""
        check_is_fitted(self)
        instruction = (self.instruction or INSTRUCTION).format(labels=", ".join(self._labels_))
        template = PromptTemplate(instruction, "Text: ", "Label:")
        return render(template, text, self.demos_for(text), mode).prompt

    def predict_proba(self, X) -> np.ndarray:
        """Rows over `classes_`, each summing to 1 (see the module docstring for how)."""
        check_is_fitted(self)
        texts = inputs.predict_inputs(self, X)
        backend = inputs.backend_for(self.model)
        if "loglikelihood" in backend.capabilities:
            return self._loglik_proba(backend, texts)
        return self._vote_proba(backend, texts)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(proba, axis=1)]

    def _loglik_proba(self, backend, texts: list[str]) -> np.ndarray:
        prompts = [self.prompt(t) for t in texts]
        requests = [(p, f" {label}") for p in prompts for label in self._labels_]
        scores = np.array(backend.loglikelihoods(requests), dtype=float)
        self.unparsed_.clear()  # a log-likelihood always names a label
        return inputs.softmax(scores.reshape(len(texts), len(self._labels_)))

    def _vote_proba(self, backend, texts: list[str]) -> np.ndarray:
        mode = "completion" if "completion" in backend.capabilities else "chat"
        rows, unparsed = [], []
        for i, text in enumerate(texts):
            replies = self._sample(backend, text, mode)
            votes = [inputs.find_label(r, self._labels_) for r in replies]
            counts = np.array([votes.count(label) for label in self._labels_], dtype=float)
            if counts.sum() == 0:
                unparsed.append({"index": i, "text": text, "replies": list(replies)})
                rows.append(self.class_prior_)
            else:
                rows.append(counts / counts.sum())
        self._record_unparsed(unparsed)
        return np.array(rows)

    def _sample(self, backend, text: str, mode: str) -> list[str]:
        return backend.generate(
            self.prompt(text, mode), n=self.n_samples, temperature=self.temperature,
            max_tokens=self.max_tokens, stop=["\n"], seed=inputs.row_seed(self._seed_, text),
        ).texts  # fmt: skip

    def _record_unparsed(self, unparsed: list[dict]) -> None:
        # replaced in place: predict must not add attributes (scikit-learn's check_dict_unchanged)
        self.unparsed_[:] = unparsed
        if not unparsed:
            return
        what = f"{len(unparsed)} text(s) got no reply naming a label (see unparsed_)"
        if self.on_unparsed == "raise":
            raise LmforgeError(f"{what}.", "Use on_unparsed='prior' or more n_samples.")
        message = f"{what}; they get the most frequent class."
        warnings.warn(message, UnparsedReplyWarning, stacklevel=3)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


class ZeroShotClassifier(PromptClassifier):
    """Labels from y, no demonstrations: the prompt is the instruction and the text.

    >>> clf = ZeroShotClassifier(model="quickstart/sft").fit(texts, labels)
    """


class FewShotClassifier(PromptClassifier):
    """Training examples as demonstrations: all of them, or `max_demos` drawn with the seed."""

    def __init__(
        self, model=None, max_demos=None, instruction=None, n_samples=5, temperature=0.7,
        max_tokens=16, on_unparsed="prior", random_state=None,
    ):  # fmt: skip
        super().__init__(
            model, instruction, n_samples, temperature, max_tokens, on_unparsed, random_state
        )
        self.max_demos = max_demos

    def _fit_demos(self, demos: list[Demo]) -> None:
        if self.max_demos is not None and self.max_demos < len(demos):
            demos = random.Random(self._seed_).sample(demos, self.max_demos)
        self._demos_ = demos


class DynamicFewShotClassifier(PromptClassifier):
    """The `n_neighbors` training examples most similar to each text (KNNSelector), nearest
    first. `embed` is any `texts -> vectors` function or an embedder name ("tfidf", "minilm",
    a sentence-transformers directory; loaded in `fit`); the default is TF-IDF over the
    training texts. A text identical to a training text never sees itself as a demonstration.
    """

    def __init__(
        self, model=None, n_neighbors=4, embed=None, instruction=None, n_samples=5,
        temperature=0.7, max_tokens=16, on_unparsed="prior", random_state=None,
    ):  # fmt: skip
        super().__init__(
            model, instruction, n_samples, temperature, max_tokens, on_unparsed, random_state
        )
        self.n_neighbors = n_neighbors
        self.embed = embed

    def _fit_demos(self, demos: list[Demo]) -> None:
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors={self.n_neighbors}: use 1 or more.")
        k = min(self.n_neighbors, len(demos))
        self._selector_ = KNNSelector(demos, k, embed=knn_embed(self.embed))

    def demos_for(self, text: str) -> list[Demo]:
        return self._selector_(text)
