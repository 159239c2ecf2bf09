"""The one bounded launcher: jobs at most N at a time, each after the jobs it waits for, none new after a failure."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

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
    queue = _ReadyQueue(len(jobs), after)
    width = len(jobs) if limit <= 0 else min(limit, len(jobs))
    if width == 1:  # one at a time: stay in this thread
        return _one_at_a_time(jobs, failed, stop, queue)
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # imports logging: on first use

    results: dict[int, T] = {}
    running: dict[Future[T], int] = {}
    halted = False
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="branch") as pool:
        try:
            while queue or running:
                while queue and not (halted or stop.is_set() or len(running) >= width):
                    index = queue.pop()
                    running[pool.submit(jobs[index])] = index
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    results[index] = future.result()
                    queue.ended(index)
                    halted = halted or failed(results[index])
        except BaseException:
            on_interrupt()
            raise
    return [results[i] for i in sorted(results)]


def _one_at_a_time(jobs: Sequence[Callable[[], T]], failed: Callable[[T], bool], stop: threading.Event,
                   queue: _ReadyQueue) -> list[T]:
    results: dict[int, T] = {}
    while queue and not stop.is_set():
        index = queue.pop()
        results[index] = jobs[index]()
        queue.ended(index)
        if failed(results[index]):
            break
    return [results[i] for i in sorted(results)]


class _ReadyQueue:
    """The jobs whose dependencies have all ended, lowest index first: each step costs O(log n), not O(n)."""

    def __init__(self, count: int, after: Sequence[Collection[int]] | None) -> None:
        self.waiting = [len(set(indexes)) for indexes in after] if after is not None else [0] * count
        self.dependents: list[list[int]] = [[] for _ in range(count)]
        for index, indexes in enumerate(after or ()):
            for before in set(indexes):
                self.dependents[before].append(index)
        self.ready = [index for index in range(count) if self.waiting[index] == 0]  # sorted, so a valid heap

    def __bool__(self) -> bool:
        return bool(self.ready)

    def pop(self) -> int:
        return heapq.heappop(self.ready)

    def ended(self, index: int) -> None:
        for dependent in self.dependents[index]:
            self.waiting[dependent] -= 1
            if self.waiting[dependent] == 0:
                heapq.heappush(self.ready, dependent)
