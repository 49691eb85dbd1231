"""Preference pairs → rows the shared loop trains on, with reference log-probs attached.

Records: `{"prompt": [messages] | "text", "chosen": "...", "rejected": "..."}` (the lab world
writes `prefs/train.jsonl` in this shape). All of them are validated, with file:line errors,
before any weights load.

Layout. Each pair becomes `k` sequences of exactly `seq_len` tokens: prompt+chosen and
prompt+rejected (KTO adds a third, the pair's prompt with the *next* pair's chosen answer,
for its KL baseline). Each is rendered with the model's chat template as one assistant
turn (`chat_data.chat_example`), labels only on the response's tokens (-100 elsewhere), one
sequence per row, padded at the end. `PairRows` keeps them as tensors `[pairs, k, seq_len]`:
the loop's `RowOrder` orders *pairs* (its "rows"), and `select` flattens a micro-batch to
`[pairs·k, seq_len]` with the sequences of pair i at rows `k·i … k·i+k-1`. So chosen and
rejected always share a micro-batch and objectives split them with a stride.

Reference log-probs (DPO, IPO, KTO) are computed once, before training, with the frozen
initial model (`attach_reference`), and stored as `ref_logps [pairs, k]`: no second model
lives in memory while training, and a resumed run sees exactly the same references.

Python: `load_prefs(paths)`, `pair_rows(tokenizer, prefs, seq_len)`, `attach_reference(...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from lmforge.errors import LmforgeError
from lmforge.jsonl import jsonl_files
from lmforge.train.chat_data import ROLES, _numbered, chat_example
from lmforge.train.packing import Example, RowBuilder

EXAMPLE = '{"prompt": [{"role": "user", "content": "..."}], "chosen": "...", "rejected": "..."}'


@dataclass(frozen=True)
class Preference:
    prompt: list[dict]
    chosen: str
    rejected: str


def load_prefs(paths: list[Path]) -> list[Preference]:
    """Every preference record in `paths`, validated; errors name file:line and the problem."""
    prefs = []
    for path in paths:
        for file in jsonl_files(path):
            for line, record in _numbered(file):
                prefs.append(_validate(record, f"{file}:{line}"))
    if not prefs:
        raise LmforgeError(f"no preference records in {', '.join(map(str, paths))}.")
    return prefs


def _validate(record: dict, where: str) -> Preference:
    for key in ("chosen", "rejected"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            got = "is missing" if value is None else f"is {str(value)[:40]!r}"
            raise LmforgeError(
                f"{where}: '{key}' {got}; it must be a non-empty string.",
                f"Preference records look like {EXAMPLE}.",
            )
    prompt = record.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        prompt = [{"role": "user", "content": prompt}]
    if not isinstance(prompt, list) or not prompt or not all(_is_message(m) for m in prompt):
        raise LmforgeError(
            f"{where}: 'prompt' must be a non-empty string or a list of messages with a "
            f"'role' ({', '.join(sorted(ROLES))}) and a string 'content'.",
            f"Preference records look like {EXAMPLE}.",
        )
    return Preference(prompt, record["chosen"], record["rejected"])


def _is_message(m) -> bool:
    return isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)


class PairRows:
    """Tensors `[pairs, k, ...]`; one "row" of the loop is one pair (see module docstring)."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors

    @property
    def k(self) -> int:
        return self.tensors["input_ids"].shape[1]

    def __len__(self) -> int:
        return self.tensors["input_ids"].shape[0]

    def select(self, index: torch.Tensor | Sequence[int] | slice) -> dict[str, torch.Tensor]:
        return {name: t[index].flatten(0, 1) for name, t in self.tensors.items()}

    def split(self, fraction: float, seed: int) -> tuple[PairRows, PairRows]:
        """(train, held out) pairs, chosen exactly as `PackedRows.split` chooses rows."""
        n_held = max(1, round(len(self) * fraction)) if fraction > 0 and len(self) > 1 else 0
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        held, kept = order[:n_held].sort().values, order[n_held:].sort().values
        return self.subset(kept), self.subset(held)

    def subset(self, index: torch.Tensor) -> PairRows:
        return PairRows({name: t[index] for name, t in self.tensors.items()})


def response_example(tokenizer, prompt: list[dict], response: str) -> Example:
    """prompt + one assistant turn; only that last turn's tokens are marked for training."""
    messages = [*prompt, {"role": "assistant", "content": response}]
    example = chat_example(tokenizer, messages)
    # earlier assistant turns in a multi-turn prompt are context, not the judged response
    context = tokenizer.apply_chat_template(
        prompt, tokenize=True, add_generation_prompt=True, return_dict=True
    )["input_ids"]
    n = len(context)
    return Example(example.ids, [t and i >= n for i, t in enumerate(example.trained)])


def pair_rows(
    tokenizer, prefs: list[Preference], seq_len: int, mismatched: bool = False
) -> tuple[PairRows, dict]:
    """PairRows of (chosen, rejected[, prompt + next pair's chosen]) per pair.

    Sequences are cut to `seq_len` (keeping the start); a pair whose response is cut away
    entirely in any of its sequences is dropped and counted.
    """
    builder, kept, truncated = RowBuilder(seq_len, tokenizer.pad_token_id), 0, 0
    n = len(prefs)
    for i, pref in enumerate(prefs):
        responses = [pref.chosen, pref.rejected]
        if mismatched:
            responses.append(prefs[(i + 1) % n].chosen)
        examples = [response_example(tokenizer, pref.prompt, r) for r in responses]
        truncated += any(len(e.ids) > seq_len for e in examples)
        examples = [Example(e.ids[:seq_len], e.trained[:seq_len]) for e in examples]
        if not all(any(e.trained[1:]) for e in examples):
            continue
        for e in examples:
            builder.add(e.ids, e.trained)
            builder.flush()
        kept += 1
    packed, k = builder.result(), 3 if mismatched else 2
    tensors = {
        "input_ids": packed.input_ids.view(kept, k, seq_len),
        "labels": packed.labels.view(kept, k, seq_len),
        "position_ids": packed.position_ids.view(kept, k, seq_len),
    }
    return PairRows(tensors), {"pairs": kept, "dropped_pairs": n - kept, "truncated": truncated}


@torch.no_grad()
def attach_reference(model, rows: PairRows, batch_size: int = 8) -> PairRows:
    """Store the frozen `model`'s summed response log-probs as `ref_logps [pairs, k]`."""
    from lmforge.train.objectives.logps import sequence_logps

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(rows), batch_size):
        batch = {n: t.to(device) for n, t in rows.select(slice(start, start + batch_size)).items()}
        out.append(sequence_logps(model, batch)[0].float().cpu())
    model.train(was_training)
    ref = torch.cat(out).view(len(rows), rows.k) if out else torch.empty(0, rows.k)
    return PairRows({**rows.tensors, "ref_logps": ref})
