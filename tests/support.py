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


def first_step_gradients(model, objective, rows, config, out) -> list[torch.Tensor]:
    """The gradients the shared loop hands to the optimizer at its first step."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    from lmforge.train.loop import train

    grads: list[torch.Tensor] = []

    def capture(optimizer, args, kwargs):
        grads.extend(p.grad.clone() for g in optimizer.param_groups for p in g["params"])

    hook = register_optimizer_step_pre_hook(capture)
    try:
        train(model, objective, rows, config, out)
    finally:
        hook.remove()
    return grads


def assert_same_gradients(big: list[torch.Tensor], accumulated: list[torch.Tensor]) -> None:
    """One batch and its accumulated micro-batches gave the same, non-zero, first update."""
    assert len(big) == len(accumulated) > 0
    for a, b in zip(big, accumulated, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)
    assert any(a.abs().sum() > 0 for a in big)


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    """Run `lmforge ARGV` in this process: (exit code, everything it printed)."""
    import pytest

    from lmforge.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out + captured.err
