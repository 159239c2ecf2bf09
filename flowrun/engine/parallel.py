"""Running sibling branches concurrently: a bounded launcher that stops launching after a failure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


def run_bounded(jobs: Sequence[Callable[[], T]], limit: int, failed: Callable[[T], bool],
                stop: threading.Event, on_interrupt: Callable[[], None] = lambda: None) -> list[T]:
    """Run `jobs` at most `limit` at a time (0 = all). After a failed result, start no new job.

    Results come back in job order; jobs never started are left out. On Ctrl-C (or SIGTERM) in the waiting
    thread, `on_interrupt` runs before the pool waits for the running jobs, so they are told to stop.
    """
    if not jobs:
        return []
    width = len(jobs) if limit <= 0 else min(limit, len(jobs))
    if width == 1:  # one at a time: stay in this thread
        finished: list[T] = []
        for job in jobs:
            if stop.is_set():
                break
            finished.append(job())
            if failed(finished[-1]):
                break
        return finished
    results: dict[int, T] = {}
    pending = list(enumerate(jobs))
    running: dict[Future[T], int] = {}
    halted = False
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="branch") as pool:
        try:
            while pending or running:
                while pending and len(running) < width and not halted and not stop.is_set():
                    index, job = pending.pop(0)
                    running[pool.submit(job)] = index
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    results[index] = future.result()
                    if failed(results[index]):
                        halted = True
        except BaseException:
            on_interrupt()
            raise
    return [results[i] for i in sorted(results)]
