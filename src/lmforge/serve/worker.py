"""A queue served by one daemon thread: the engine's model calls and the tracer's writes."""

from __future__ import annotations

import queue
import threading


class QueueWorker:
    """`start` runs `self._work()` on a thread that reads `self._queue`; `stop` queues None
    (the end mark `_work` returns on), waits for what is queued to finish, and joins."""

    thread_name = "lmforge-worker"
    _queue: queue.Queue
    _thread: threading.Thread | None = None

    def _work(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
