"""Packing token sequences into fixed-length rows with no attention across documents.

Each row carries `position_ids` that restart at 0 for every document. With no 2D attention
mask and no KV cache (`use_cache=False`: a cache turns the detection off), `transformers`
turns restarting positions into a block-diagonal causal mask, so a token
never attends to another document and the loss of a packed document equals its loss alone.
The first token of every document gets label -100: it is not predicted from the previous one.
Padding fills the end of a row as its own "document" with labels -100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class Example:
    """One document or conversation: token ids and which of them are trained."""

    ids: list[int]
    trained: list[bool]


@dataclass
class PackedRows:
    input_ids: torch.Tensor  # [rows, seq_len]
    labels: torch.Tensor
    position_ids: torch.Tensor

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, index: torch.Tensor | Sequence[int]) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.input_ids[index],
            "labels": self.labels[index],
            "position_ids": self.position_ids[index],
        }

    def split(self, fraction: float, seed: int) -> tuple[PackedRows, PackedRows]:
        """(train, held out): a seeded random `fraction` of rows held out, at least one."""
        n_held = max(1, round(len(self) * fraction)) if fraction > 0 and len(self) > 1 else 0
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        held, kept = order[:n_held].sort().values, order[n_held:].sort().values
        return self._subset(kept), self._subset(held)

    def _subset(self, index: torch.Tensor) -> PackedRows:
        return PackedRows(self.input_ids[index], self.labels[index], self.position_ids[index])


class RowBuilder:
    def __init__(self, seq_len: int, pad_id: int):
        self.seq_len, self.pad_id = seq_len, pad_id
        self.rows: list[tuple[list[int], list[int], list[int]]] = []
        self._new_row()

    def _new_row(self) -> None:
        self.ids: list[int] = []
        self.labels: list[int] = []
        self.positions: list[int] = []

    @property
    def space(self) -> int:
        return self.seq_len - len(self.ids)

    def add(self, ids: list[int], trained: list[bool]) -> None:
        """Append one document (it must fit in the current row)."""
        self.ids += ids
        self.labels += [t if keep else IGNORE for t, keep in zip(ids, trained, strict=True)]
        self.labels[len(self.labels) - len(ids)] = IGNORE
        self.positions += list(range(len(ids)))

    def flush(self) -> None:
        if not self.ids:
            return
        n_pad = self.space
        self.ids += [self.pad_id] * n_pad
        self.labels += [IGNORE] * n_pad
        self.positions += list(range(n_pad))
        self.rows.append((self.ids, self.labels, self.positions))
        self._new_row()

    def result(self) -> PackedRows:
        self.flush()
        if not self.rows:
            return PackedRows(*(torch.empty(0, self.seq_len, dtype=torch.long) for _ in range(3)))
        ids, labels, positions = (
            torch.tensor(list(x), dtype=torch.long) for x in zip(*self.rows, strict=True)
        )
        return PackedRows(ids, labels, positions)


def pack_stream(examples: Iterable[Example], seq_len: int, pad_id: int) -> PackedRows:
    """Pretraining packing: documents fill rows back to back; a long one continues in the next."""
    builder = RowBuilder(seq_len, pad_id)
    for example in examples:
        start = 0
        while start < len(example.ids):
            if builder.space == 0:
                builder.flush()
            end = start + builder.space
            builder.add(example.ids[start:end], example.trained[start:end])
            start = end
    return builder.result()


def pack_whole(examples: Iterable[Example], seq_len: int, pad_id: int) -> PackedRows:
    """SFT packing: each example stays whole in one row (callers truncate to `seq_len` first)."""
    builder = RowBuilder(seq_len, pad_id)
    for example in examples:
        if len(example.ids) > seq_len:
            raise ValueError(f"example of {len(example.ids)} tokens exceeds seq_len {seq_len}")
        if len(example.ids) > builder.space:
            builder.flush()
        builder.add(example.ids, example.trained)
    return builder.result()
