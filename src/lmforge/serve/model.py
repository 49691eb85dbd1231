"""The model side of the server: generate rows of tokens together, and score tokens.

Runs only in the engine's worker thread. `run_rows` left-pads the prompts of one or more
requests into one `model.generate` call (greedy or sampled with `infer.generate`'s config);
a stopping criterion sees each new token of every row and feeds it to that row's `Tracker`,
which turns tokens into text (stop strings, end tokens, budgets, the end of a forced tool
call's JSON) and can send the new text to a streaming client at once. Log-probabilities are
computed afterwards by one teacher-forced forward pass, so they are the model's own
distribution (not the sampler's) and equal `eval.scoring.loglikelihoods`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from lmforge.infer.backends.base import cut_at_stop
from lmforge.infer.generate import eos_ids, generation_config, left_padded, pad_id
from lmforge.serve.toolcalls import json_close


@dataclass
class Row:
    """One choice to produce: its prompt ids, most new tokens, stop strings."""

    prompt: list[int]
    budget: int
    stop: list[str] = field(default_factory=list)
    json_depth: int | None = None  # a forced tool call: stop once these open objects close


class Tracker:
    """The text of one row as its tokens arrive; `pending()` is what is safe to send now."""

    def __init__(self, tokenizer, row: Row, ends: set[int]) -> None:
        self.tokenizer, self.row, self.ends = tokenizer, row, ends
        self.ids: list[int] = []
        self.text, self.sent = "", 0
        self.done, self.reason = row.budget <= 0, "length"
        self.hold = max((len(s) for s in row.stop), default=1) - 1

    def feed(self, token: int) -> None:
        if self.done:
            return
        if token in self.ends:
            self.done, self.reason = True, "stop"
            return
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        self.text, found = cut_at_stop(text, self.row.stop)
        closed = json_close(self.text, self.row.json_depth) if self.row.json_depth else None
        if closed is not None:  # the call is complete: what follows would be thrown away
            self.text, found = self.text[: closed + 1], True
        if found:
            self.done, self.reason = True, "stop"
        elif len(self.ids) >= self.row.budget:
            self.done = True

    def pending(self) -> str:
        """New text, holding back what may be half a character or the start of a stop string."""
        end = len(self.text)
        if not self.done:
            end -= self.hold
            while end > self.sent and self.text[end - 1] == "\ufffd":
                end -= 1  # a multi-byte character whose last bytes are still to come
        if end <= self.sent:
            return ""
        piece, self.sent = self.text[self.sent : end], end
        return piece


OnStep = Callable[[list[Tracker]], object]


class _Hook(StoppingCriteria):
    """Feeds each new token to its row's tracker; a row stops when its tracker is done."""

    def __init__(self, trackers: list[Tracker], on_step: OnStep | None, cancelled) -> None:
        self.trackers, self.on_step, self.cancelled = trackers, on_step, cancelled

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        for tracker, token in zip(self.trackers, input_ids[:, -1].tolist(), strict=True):
            tracker.feed(token)
        if self.on_step is not None:
            self.on_step(self.trackers)
        stop = self.cancelled()
        done = [stop or t.done for t in self.trackers]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def run_rows(
    model,
    tokenizer,
    rows: list[Row],
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    on_step: OnStep | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[Tracker]:
    """Generate every row in one left-padded batch; the trackers hold ids, text and reason."""
    trackers = [Tracker(tokenizer, row, set(eos_ids(model, tokenizer))) for row in rows]
    live = [r for r in rows if r.budget > 0]
    if not live:
        return trackers
    input_ids, mask = left_padded([r.prompt for r in rows], pad_id(model, tokenizer))
    budget = max(r.budget for r in live)
    config = generation_config(model, tokenizer, budget, temperature, top_p)
    if seed is not None:
        torch.manual_seed(seed)
    hook = _Hook(trackers, on_step, cancelled)
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([hook]),
        )
    for tracker in trackers:
        tracker.done = True  # the model's own limits (max_new_tokens) also end a row
    return trackers


@dataclass
class TokenLogprob:
    token: int
    logprob: float | None  # None for a prompt's first token: nothing precedes it
    top: list[tuple[int, float]]


def score(model, ids: list[int], start: int, top_k: int) -> list[TokenLogprob]:
    """Log P(ids[i] | ids[:i]) for i >= start, with the `top_k` likeliest tokens at each i."""
    out = [TokenLogprob(ids[0], None, [])] if start == 0 and ids else []
    first = max(start, 1)
    if first >= len(ids):
        return out
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids[:-1]])).logits[0].float()
    logprobs = torch.log_softmax(logits[first - 1 :], dim=-1)
    picked = logprobs.gather(1, torch.tensor(ids[first:])[:, None]).squeeze(1).tolist()
    tops = logprobs.topk(top_k, dim=-1) if top_k > 0 else None
    for j, (token, value) in enumerate(zip(ids[first:], picked, strict=True)):
        top = []
        if tops is not None:
            top = list(zip(tops.indices[j].tolist(), tops.values[j].tolist(), strict=True))
        out.append(TokenLogprob(token, value, top))
    return out
