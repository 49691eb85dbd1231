"""The local backend reuses lmforge's generation and scoring; capability and option errors."""

from __future__ import annotations

import pytest

from lmforge.errors import LmforgeError
from lmforge.eval.scoring import loglikelihoods
from lmforge.infer import load_backend
from lmforge.infer.backends import ScriptedBackend
from lmforge.infer.generate import stream_text


def test_loglikelihoods_equal_eval_scoring(loaded, model_dir):
    backend = load_backend(model_dir, loaded=loaded)
    requests = [("Kamori is a town.", " Its main export"), ("Tessa is ", "a town.")]
    expected = [value for value, _ in loglikelihoods(*loaded, requests)]
    assert backend.loglikelihoods(requests) == pytest.approx(expected, abs=1e-6)
    assert backend.loglikelihood(*requests[0]) == pytest.approx(expected[0], abs=1e-6)


def test_generate_is_stream_text_and_cuts_at_stop(loaded, model_dir):
    backend = load_backend(model_dir, loaded=loaded)
    expected = "".join(stream_text(*loaded, "Kamori is", max_new_tokens=12))
    done = backend.generate("Kamori is", max_tokens=12)
    assert done.text == expected
    assert done.usage["prompt_tokens"] == backend.count_tokens("Kamori is")
    stop = expected.strip()[3:6]
    cut = backend.generate("Kamori is", max_tokens=12, stop=[stop])
    assert cut.text == expected[: expected.find(stop)] and cut.finish_reason == "stop"
    assert "".join(backend.stream("Kamori is", max_tokens=12)) == expected


def test_sampling_is_seeded_and_n_gives_several(loaded, model_dir):
    backend = load_backend(model_dir, loaded=loaded)
    options = {"max_tokens": 8, "temperature": 1.5, "seed": 3, "n": 3}
    first, again = backend.generate("Kamori", **options), backend.generate("Kamori", **options)
    assert first.texts == again.texts and len(first.texts) == 3
    assert len(set(first.texts)) > 1


def test_missing_capability_names_it_and_the_backend():
    backend = ScriptedBackend(["x"], capabilities={"completion"}, label="fake")
    with pytest.raises(LmforgeError, match=r"backend fake does not support chat"):
        backend.generate([{"role": "user", "content": "hi"}])
    for call, capability in [
        (lambda: backend.loglikelihood("a", "b"), "loglikelihood"),
        (lambda: backend.stream("a"), "streaming"),
        (lambda: backend.generate("a", tools=[{"type": "function"}]), "tools"),
    ]:
        with pytest.raises(LmforgeError, match=f"does not support {capability}"):
            call()
    assert backend.calls == []
    with pytest.raises(LmforgeError, match="unknown generation option"):
        backend.generate("a", temprature=0.5)


def test_load_backend_rejects_what_is_not_a_backend(tmp_path):
    with pytest.raises(LmforgeError, match="neither a model directory nor a backend spec"):
        load_backend(tmp_path / "missing")
