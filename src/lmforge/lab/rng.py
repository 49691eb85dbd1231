"""Seeded random streams, one per purpose.

Each part of the world draws from its own `random.Random`, seeded from sha256 of
"{seed}:{purpose}", so that changing one part (or adding a language) leaves the others as they
were. Python's `hash()` is salted per process and must never be used for this.
"""

from __future__ import annotations

import hashlib
import random


def rng_for(seed: int, purpose: str) -> random.Random:
    """A `random.Random` that depends only on `seed` and `purpose`."""
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
