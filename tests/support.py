"""Helpers shared by test packages (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def single_thread():
    """One torch thread: on a busy 2-core machine two threads wait on each other ~20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
