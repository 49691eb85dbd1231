"""CachedBackend answers repeated deterministic calls from disk without calling the model."""

from __future__ import annotations

from lmforge.infer.backends import CachedBackend, ScriptedBackend


def test_a_hit_makes_no_backend_call(tmp_path):
    inner = ScriptedBackend(lambda prompt, options: f"reply to {prompt}")
    cached = CachedBackend(inner, tmp_path)
    assert cached.generate("q1", max_tokens=4).text == "reply to q1"
    again = CachedBackend(inner, tmp_path)  # a new process would read the same directory
    assert again.generate("q1", max_tokens=4).text == "reply to q1"
    assert len(inner.calls) == 1 and again.hits == 1
    again.generate("q1", max_tokens=5)  # other options, other key
    assert len(inner.calls) == 2


def test_sampling_without_seed_is_never_cached_but_with_seed_is(tmp_path):
    inner = ScriptedBackend(lambda prompt, options: "x")
    cached = CachedBackend(inner, tmp_path)
    for _ in range(2):
        cached.generate("q", temperature=0.8)
    assert len(inner.calls) == 2
    for _ in range(2):
        cached.generate("q", temperature=0.8, seed=1)
    assert len(inner.calls) == 3


def test_loglikelihoods_call_only_for_misses(tmp_path):
    inner = ScriptedBackend(logliks=lambda context, continuation: -len(continuation))
    cached = CachedBackend(inner, tmp_path)
    assert cached.loglikelihoods([("a", "bb"), ("a", "c")]) == [-2.0, -1.0]
    assert cached.loglikelihoods([("a", "c"), ("a", "dddd")]) == [-1.0, -4.0]
    assert [c.prompt for c in inner.calls] == [[("a", "bb"), ("a", "c")], [("a", "dddd")]]


def test_identity_separates_backends(tmp_path):
    one = CachedBackend(ScriptedBackend(lambda p, o: "one", label="a"), tmp_path)
    two = CachedBackend(ScriptedBackend(lambda p, o: "two", label="b"), tmp_path)
    assert one.generate("q").text == "one" and two.generate("q").text == "two"
