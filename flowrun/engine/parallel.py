"""The one bounded launcher: jobs at most N at a time, each after the jobs it waits for, none new after a failure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


def run_bounded(jobs: Sequence[Callable[[], T]], limit: int, failed: Callable[[T], bool],
                stop: threading.Event, on_interrupt: Callable[[], None] = lambda: None,
                after: Sequence[Collection[int]] | None = None) -> list[T]:
    """Run `jobs` at most `limit` at a time (0 = all). After a failed result, start no new job.

    `after[i]` holds the indexes of the jobs job i waits for (a Dag's dependencies): it starts once they have
    ended, whatever their result. Without `after` every job is ready at once and they start in order.
    Results come back in job order; jobs never started are left out. On Ctrl-C (or SIGTERM) in the waiting
    thread, `on_interrupt` runs before the pool waits for the running jobs, so they are told to stop.
    """
    if not jobs:
        return []
    waits = [set(indexes) for indexes in after] if after is not None else [set() for _ in jobs]
    width = len(jobs) if limit <= 0 else min(limit, len(jobs))
    if width == 1:  # one at a time: stay in this thread
        return _one_at_a_time(jobs, failed, stop, waits)
    results: dict[int, T] = {}
    pending = list(range(len(jobs)))
    running: dict[Future[T], int] = {}
    halted = False
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="branch") as pool:
        try:
            while pending or running:
                for index in _ready(pending, waits, results):
                    if halted or stop.is_set() or len(running) >= width:
                        break
                    pending.remove(index)
                    running[pool.submit(jobs[index])] = index
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    results[index] = future.result()
                    halted = halted or failed(results[index])
        except BaseException:
            on_interrupt()
            raise
    return [results[i] for i in sorted(results)]


def _one_at_a_time(jobs: Sequence[Callable[[], T]], failed: Callable[[T], bool], stop: threading.Event,
                   waits: list[set[int]]) -> list[T]:
    results: dict[int, T] = {}
    pending = list(range(len(jobs)))
    while pending and not stop.is_set():
        ready = _ready(pending, waits, results)
        if not ready:
            break
        pending.remove(ready[0])
        results[ready[0]] = jobs[ready[0]]()
        if failed(results[ready[0]]):
            break
    return [results[i] for i in sorted(results)]


def _ready(pending: list[int], waits: list[set[int]], ended: dict[int, T]) -> list[int]:
    return [index for index in pending if waits[index].issubset(ended)]
