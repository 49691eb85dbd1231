"""The order rows are trained in: a pure function of (seed, position), so resume is exact.

Rows form an endless stream of seeded per-epoch permutations. Optimizer step `s` takes rows
`[s·R, (s+1)·R)` of that stream (R = micro-batch × accumulation × processes); each process
takes its own contiguous share. Nothing about the order needs saving beyond the step number.
"""

from __future__ import annotations

import torch


class RowOrder:
    def __init__(self, n_rows: int, seed: int):
        if n_rows == 0:
            raise ValueError("no rows to train on")
        self.n_rows, self.seed = n_rows, seed
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n_rows, generator=generator)
        return self._perm

    def rows(self, start: int, count: int) -> torch.Tensor:
        """Rows at stream positions [start, start + count)."""
        out = []
        for pos in range(start, start + count):
            epoch, index = divmod(pos, self.n_rows)
            out.append(int(self._permutation(epoch)[index]))
        return torch.tensor(out, dtype=torch.long)

    def micro_batches(
        self, step: int, micro: int, accum: int, rank: int, world: int
    ) -> list[torch.Tensor]:
        """The micro-batches of row indices that process `rank` trains at optimizer `step`."""
        per_rank = micro * accum
        start = step * per_rank * world + rank * per_rank
        rows = self.rows(start, per_rank)
        return [rows[i * micro : (i + 1) * micro] for i in range(accum)]

    def epoch_at(self, step: int, rows_per_step: int) -> float:
        return step * rows_per_step / self.n_rows
