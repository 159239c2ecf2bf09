"""The one bounded launcher (engine/parallel.py): width, dependency order, no new job after a failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flowrun.engine.parallel import run_bounded


def recorder(log: list[str], lock: threading.Lock) -> Callable[[str, bool, float], Callable[[], tuple[str, bool]]]:
    def job(name: str, fails: bool = False, seconds: float = 0.0) -> Callable[[], tuple[str, bool]]:
        def run() -> tuple[str, bool]:
            with lock:
                log.append(f"start {name}")
            time.sleep(seconds)
            with lock:
                log.append(f"end {name}")
            return name, fails
        return run
    return job


def test_jobs_wait_for_the_jobs_they_come_after_and_results_keep_job_order() -> None:
    log: list[str] = []
    job = recorder(log, threading.Lock())
    jobs = [job("a", False, 0.02), job("b", False, 0.0), job("c", False, 0.0)]
    results = run_bounded(jobs, 0, lambda r: r[1], threading.Event(), after=[[], [0], [0, 1]])
    assert [name for name, _ in results] == ["a", "b", "c"]
    assert log.index("end a") < log.index("start b") and log.index("end b") < log.index("start c")


def test_one_at_a_time_runs_in_the_calling_thread_in_dependency_order() -> None:
    threads: list[str] = []
    order: list[int] = []

    def job(i: int) -> Callable[[], int]:
        return lambda: (threads.append(threading.current_thread().name), order.append(i), i)[2]

    results = run_bounded([job(0), job(1), job(2)], 1, lambda r: False, threading.Event(), after=[[2], [], [1]])
    assert order == [1, 2, 0] and results == [0, 1, 2]
    assert set(threads) == {threading.current_thread().name}


def test_no_new_job_starts_after_a_failure_but_running_ones_finish() -> None:
    log: list[str] = []
    job = recorder(log, threading.Lock())
    jobs = [job("fails", True, 0.0), job("slow", False, 0.1), job("later", False, 0.0)]
    results = run_bounded(jobs, 2, lambda r: r[1], threading.Event())
    assert [name for name, _ in results] == ["fails", "slow"]
    assert "start later" not in log and "end slow" in log


def test_the_width_bounds_how_many_run_at_once() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def job() -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return 0

    assert len(run_bounded([job] * 6, 2, lambda r: False, threading.Event())) == 6
    assert peak[0] == 2


def test_a_stopped_launcher_starts_nothing_and_an_unmet_wait_is_never_started() -> None:
    stop = threading.Event()
    stop.set()
    assert run_bounded([lambda: 1, lambda: 2], 2, lambda r: False, stop) == []
    assert run_bounded([lambda: 1, lambda: 2], 1, lambda r: False, stop) == []
    # a job waiting for a job that failed and halted the launcher never starts
    assert run_bounded([lambda: 1, lambda: 2], 0, lambda r: r == 1, threading.Event(), after=[[], [0]]) == [1]
