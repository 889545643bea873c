"""Inference off the event loop, behind a bounded queue.

Colorizing an image takes from tens of milliseconds to seconds of CPU.  Running
it in the event loop would freeze the page and every other request, so each job
runs in a small :class:`~concurrent.futures.ThreadPoolExecutor` (one thread by
default: torch already uses every core for one image, and one job at a time
keeps memory flat).  Requests that arrive while the workers are busy wait in the
executor's queue; once ``queue_size`` are waiting, a new request is refused at
once with :class:`QueueFullError` (HTTP 503) instead of piling up without bound.

The admission counter is guarded by a :class:`threading.Lock`, not an asyncio
primitive, because a test client may drive the app from several event loops in
several threads.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from ..errors import MedcolorError

__all__ = ["InferenceQueue", "QueueFullError"]

T = TypeVar("T")


class QueueFullError(MedcolorError):
    """Every worker is busy and ``queue_size`` requests are already waiting."""


class InferenceQueue:
    """Run blocking jobs on worker threads; at most ``workers + queue_size`` admitted at once.

    Args:
        workers: threads running jobs concurrently.
        queue_size: jobs allowed to wait for a free worker.
    """

    def __init__(self, workers: int = 1, queue_size: int = 4) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError(f"need workers >= 1 and queue_size >= 0, got {workers}, {queue_size}")
        self.workers = workers
        self.queue_size = queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medcolor-infer")
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._done = 0
        self._closed = False

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    def stats(self) -> dict:
        """``running``, ``waiting`` and ``completed`` job counts plus the limits (for /api/health)."""
        with self._lock:
            admitted, done = self._admitted, self._done
        running = min(admitted, self.workers)
        return {"running": running, "waiting": admitted - running, "completed": done,
                "workers": self.workers, "queue_size": self.queue_size}

    def _admit(self) -> None:
        with self._lock:
            if self._closed:
                raise QueueFullError("the server is shutting down")
            if self._admitted >= self.capacity:
                raise QueueFullError(
                    f"server busy: {self.workers} running and {self.queue_size} waiting; retry shortly")
            self._admitted += 1

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1
            self._done += 1

    async def run(self, fn: Callable[..., T], *args) -> T:
        """Await ``fn(*args)`` on a worker thread; raises :class:`QueueFullError` when full.

        The slot is held until the job itself finishes, even if the client goes
        away, so the count always matches the work the threads really have.
        """
        self._admit()
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        # shield: a cancelled request must not cancel the bookkeeping of a running job
        return await asyncio.shield(asyncio.wrap_future(future))

    def close(self) -> None:
        """Refuse new jobs and let the running ones finish."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
