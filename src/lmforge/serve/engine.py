"""One model, one worker thread, a bounded queue in front of it, and dynamic batching.

The event loop (FastAPI) turns each request into a `Job` and `submit`s it; a full queue is
an immediate 429. The worker thread takes jobs in order. A greedy job (streamed or not)
waits `batch_wait` seconds for more of its kind — up to `patience` while fewer have come
than the last greedy batch held — and runs them all in one left-padded `model.generate`
call (greedy rows do not depend on each other, so each gets the tokens it would get alone).
Results and streamed text go back to the event loop as events on the job's asyncio queue.
A job is cancelled when its client goes away or its deadline passes: a queued one never
runs, and the generation stops at the next token once every job in the batch is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

import torch

from lmforge.serve.errors import APIError, from_exception
from lmforge.serve.model import Row, TokenLogprob, Tracker, run_rows, score
from lmforge.serve.worker import QueueWorker


@dataclass
class Output:
    """One finished choice."""

    ids: list[int]
    text: str
    finish_reason: str
    prompt: list[int]
    logprobs: list[TokenLogprob] | None = None  # prompt tokens first when echoed

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt)


@dataclass
class Job:
    rows: list[Row]
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    top_k: int | None = None  # log-probabilities wanted, with this many alternatives
    echo: bool = False
    stream: bool = False
    timeout: float = 60.0
    loop: asyncio.AbstractEventLoop | None = None
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    @property
    def batchable(self) -> bool:
        return self.temperature == 0

    def stopped(self) -> bool:
        return self.cancel.is_set() or time.monotonic() > self.deadline

    def send(self, *event) -> None:
        """Hand an event to the event loop (called from the worker thread)."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is shutting down
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)


class Engine(QueueWorker):
    """Runs jobs on `model` in one worker thread; `max_queue` jobs may wait."""

    thread_name = "lmforge-engine"

    def __init__(
        self,
        model,
        tokenizer,
        max_queue: int = 64,
        max_batch: int = 8,
        batch_wait: float = 0.005,
        threads: int | None = None,
        patience: float = 0.05,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_queue, self.max_batch, self.batch_wait = max_queue, max_batch, batch_wait
        self.threads, self.patience = threads, patience
        self._expect = 1  # rows of the last greedy batch: how many clients are likely back
        self.batches: list[int] = []  # jobs per model call, in order
        self.generated = 0  # tokens generated so far, all jobs
        self._queue: queue.Queue = queue.Queue()
        self._waiting, self._lock = 0, threading.Lock()

    def submit(self, job: Job) -> Job:
        """Queue `job` (from the event loop); 429 when `max_queue` jobs already wait."""
        job.loop = asyncio.get_running_loop()
        with self._lock:
            if self._waiting >= self.max_queue:
                raise APIError(429, "The server is busy: too many requests are waiting. "
                               "Retry after a short wait.", code="queue_full")  # fmt: skip
            self._waiting += 1
        self._queue.put(job)
        return job

    async def result(self, job: Job, gone: Awaitable | None = None) -> list[Output]:
        """The job's outputs; 504 when its deadline passes first. `gone` (e.g.
        `disconnected(request)`) ends when the client goes away: the job is cancelled then
        (a queued job never runs, a running one stops at the next token) and 499 raised."""
        waits = [asyncio.ensure_future(job.events.get())]
        if gone is not None:
            waits.append(asyncio.ensure_future(gone))
        try:
            done, _ = await asyncio.wait(waits, timeout=self._left(job),
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            job.cancel.set()  # a no-op once done; stops the work if the client went away
            for wait in waits:
                wait.cancel()
        if waits[0] not in done:
            raise _timeout(job) if not done else _gone()
        kind, payload = waits[0].result()
        while kind == "delta":  # not sent for non-streaming jobs, but be safe
            kind, payload = job.events.get_nowait()
        if kind == "error":
            raise payload
        return payload

    async def events(self, job: Job):
        """Yield ("delta", index, text) events, then ("done", outputs) or an APIError."""
        try:
            while True:
                try:
                    event = await asyncio.wait_for(job.events.get(), self._left(job))
                except TimeoutError:
                    yield ("error", _timeout(job))
                    return
                yield event
                if event[0] in ("done", "error"):
                    return
        finally:
            job.cancel.set()  # the client disconnected or the stream ended

    @staticmethod
    def _left(job: Job) -> float:
        return max(job.deadline - time.monotonic(), 0.0)

    def _take(self, timeout: float | None = None) -> Job | None:
        job = self._queue.get(timeout=timeout)
        if job is not None:
            with self._lock:
                self._waiting -= 1
        return job

    def _work(self) -> None:
        if self.threads is not None:
            torch.set_num_threads(self.threads)  # per thread: the worker needs its own setting
        held = None
        while True:
            job, held = held or self._take(), None
            if job is None:
                return
            batch = [job]
            if job.batchable:
                batch, held = self._gather(job)
            self._run([j for j in batch if not j.stopped()])

    def _gather(self, first: Job) -> tuple[list[Job], Job | None]:
        """`first` and the batchable jobs arriving within `batch_wait`; the next other job.

        While fewer rows than the last greedy batch had are in, it waits up to `patience`
        instead: the clients just answered are likely sending their next requests, and
        a batch that misses them by a few milliseconds costs them a whole generation."""
        batch, rows, start = [first], len(first.rows), time.monotonic()
        held = None
        while rows < self.max_batch:
            wait = self.patience if rows < self._expect else self.batch_wait
            try:
                job = self._take(timeout=max(start + wait - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None or not job.batchable:
                held = job
                break
            batch.append(job)
            rows += len(job.rows)
        self._expect = min(rows, self.max_batch)
        return batch, held

    def _run(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        self.batches.append(len(jobs))
        head = jobs[0]
        on_step = _streamer(jobs) if any(j.stream for j in jobs) else None
        try:
            trackers = run_rows(
                self.model, self.tokenizer, [r for j in jobs for r in j.rows], head.temperature,
                head.top_p, head.seed, on_step, lambda: all(j.stopped() for j in jobs),
            )  # fmt: skip
            self.generated += sum(len(t.ids) for t in trackers)
            if on_step is not None:
                on_step(trackers)  # what was held back until the end
            for job in jobs:
                mine, trackers = trackers[: len(job.rows)], trackers[len(job.rows) :]
                if not job.stopped():
                    outputs = map(self._output, [job] * len(mine), job.rows, mine)
                    job.send("done", list(outputs))
        except Exception as e:  # answered to each client; the worker keeps serving
            for job in jobs:
                job.send("error", from_exception(e))

    def _output(self, job: Job, row: Row, tracker: Tracker) -> Output:
        out = Output(tracker.ids, tracker.text, tracker.reason, row.prompt)
        if job.top_k is not None:
            ids = row.prompt + tracker.ids
            start = 0 if job.echo else len(row.prompt)
            out.logprobs = score(self.model, ids, start, job.top_k)
        return out


def _streamer(jobs: list[Job]):
    """Sends each streaming job the new text of its own rows (its choices 0, 1, ...)."""
    owners = [(job, index) for job in jobs for index in range(len(job.rows))]

    def on_step(trackers: list[Tracker]) -> None:
        for (job, index), tracker in zip(owners, trackers, strict=True):
            piece = tracker.pending() if job.stream and not job.stopped() else ""
            if piece:
                job.send("delta", index, piece)

    return on_step


async def disconnected(request) -> None:
    """Returns once the client of `request` (a Starlette request whose body has been read)
    has gone away: the ASGI server then answers `receive` with `http.disconnect`."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _gone() -> APIError:
    # nginx's "client closed request": nobody reads it, but the trace records it
    return APIError(499, "The client went away before the response was ready.",
                    code="client_closed_request")  # fmt: skip


def _timeout(job: Job) -> APIError:
    job.cancel.set()
    return APIError(504, f"The request took longer than the server's {job.timeout:g} s timeout.",
                    code="timeout")  # fmt: skip
