"""`Backend.generate_batch`: the local backend's padded batches give each prompt its own text.

Run: OMP_NUM_THREADS=1 pytest tests/infer/test_backend_batch.py
"""

from __future__ import annotations

from lmforge.infer.backends import load_backend
from support import single_thread

PROMPTS = ["the town of", "kamori lies in the region of a", "copper", "서울은"]


def test_local_batch_equals_one_by_one(tiny_model_dir):
    backend = load_backend(str(tiny_model_dir))
    with single_thread():
        alone = [backend.generate(p, max_tokens=12) for p in PROMPTS]
        # a stop string that never comes sends each prompt through the streaming path
        streamed = [backend.generate(p, max_tokens=12, stop=["\x00"]) for p in PROMPTS]
        batched = backend.generate_batch(PROMPTS, max_tokens=12)
    assert [c.text for c in batched] == [c.text for c in alone] == [c.text for c in streamed]
    assert [c.finish_reason for c in batched] == [c.finish_reason for c in streamed]
    assert [c.usage["prompt_tokens"] for c in batched] == [c.usage["prompt_tokens"] for c in alone]
    assert all(c.finish_reason in ("stop", "length") for c in batched)


def test_batch_applies_stop_strings_and_sampling_falls_back(tiny_model_dir):
    backend = load_backend(str(tiny_model_dir))
    with single_thread():
        free = backend.generate_batch(PROMPTS[:2], max_tokens=12)
        assert len(free[0].text) >= 5  # room for a stop string inside the reply
        cut = backend.generate_batch(PROMPTS[:2], max_tokens=12, stop=[free[0].text[3:5]])
        sampled = backend.generate_batch(PROMPTS[:2], max_tokens=6, temperature=1.0, seed=3)
        again = backend.generate_batch(PROMPTS[:2], max_tokens=6, temperature=1.0, seed=3)
    assert cut[0].text == free[0].text[: free[0].text.find(free[0].text[3:5])]
    assert cut[0].finish_reason == "stop"
    assert [c.text for c in sampled] == [c.text for c in again]  # seeded
