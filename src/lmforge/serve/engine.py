"""One model, one worker thread, a bounded queue in front of it, and dynamic batching.

The event loop (FastAPI) turns each request into a `Job` and `submit`s it; a full queue is
an immediate 429. The worker thread takes jobs in order. A greedy, non-streaming job waits
`batch_wait` seconds for more of its kind and runs them all in one left-padded
`model.generate` call (greedy rows do not depend on each other, so each gets the tokens it
would get alone). Results and streamed text go back to the event loop as events on the job's
asyncio queue. A job is cancelled when its client goes away or its deadline passes: the
generation stops at the next token once every job in the batch is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field

import torch

from lmforge.serve.errors import APIError, from_exception
from lmforge.serve.model import Row, TokenLogprob, Tracker, run_rows, score


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
        return self.temperature == 0 and not self.stream

    def stopped(self) -> bool:
        return self.cancel.is_set() or time.monotonic() > self.deadline

    def send(self, *event) -> None:
        """Hand an event to the event loop (called from the worker thread)."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is shutting down
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)


class Engine:
    """Runs jobs on `model` in one worker thread; `max_queue` jobs may wait."""

    def __init__(
        self,
        model,
        tokenizer,
        max_queue: int = 64,
        max_batch: int = 8,
        batch_wait: float = 0.005,
        threads: int | None = None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_queue, self.max_batch, self.batch_wait = max_queue, max_batch, batch_wait
        self.threads = threads
        self.batches: list[int] = []  # jobs per model call, in order
        self.generated = 0  # tokens generated so far, all jobs
        self._queue: queue.Queue = queue.Queue()
        self._waiting, self._lock = 0, threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="lmforge-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

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

    async def result(self, job: Job) -> list[Output]:
        """The job's outputs; 504 when its deadline passes first."""
        try:
            kind, payload = await asyncio.wait_for(job.events.get(), self._left(job))
        except TimeoutError:
            raise _timeout(job) from None
        finally:
            job.cancel.set()  # a no-op once done; stops the work if the client went away
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
        """`first` and the batchable jobs arriving within `batch_wait`; the next other job."""
        batch, rows, end = [first], len(first.rows), time.monotonic() + self.batch_wait
        while rows < self.max_batch:
            try:
                job = self._take(timeout=max(end - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None or not job.batchable:
                return batch, job
            batch.append(job)
            rows += len(job.rows)
        return batch, None

    def _run(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        self.batches.append(len(jobs))
        head = jobs[0]
        on_step = _streamer(head) if head.stream else None
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


def _streamer(job: Job):
    def on_step(trackers: list[Tracker]) -> None:
        for index, tracker in enumerate(trackers):
            piece = tracker.pending()
            if piece:
                job.send("delta", index, piece)

    return on_step


def _timeout(job: Job) -> APIError:
    job.cancel.set()
    return APIError(504, f"The request took longer than the server's {job.timeout:g} s timeout.",
                    code="timeout")  # fmt: skip
