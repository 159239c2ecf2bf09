"""The Dag flowable's scheduler: launch each task when its dependencies have ended, bounded in parallel."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from flowrun.model.execution import FAILED_LIKE

if TYPE_CHECKING:
    from flowrun.engine.executor import Executor
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.base import Task
    from flowrun.tasks.runner import Scope


def run_dag(ex: Executor, tasks: list[Task], deps: dict[str, list[str]], scope: Scope, limit: int) -> list[TaskRun]:
    """Run in dependency order; after a failure no new task starts, running ones finish."""
    by_id = {task.id: task for task in tasks if not task.disabled}
    waiting = dict(by_id)
    ended: dict[str, TaskRun] = {}
    width = len(by_id) if limit <= 0 else limit
    running: dict[Future[TaskRun], str] = {}
    halted = False
    with ThreadPoolExecutor(max_workers=max(width, 1), thread_name_prefix="dag") as pool:
        try:
            while waiting or running:
                ready = [tid for tid in waiting
                         if all(dep in ended or dep not in by_id for dep in deps.get(tid, []))]
                for tid in ready:
                    if halted or ex.killed.is_set() or len(running) >= width:
                        break
                    running[pool.submit(ex.run_task, waiting.pop(tid), scope)] = tid
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    tid = running.pop(future)
                    ended[tid] = future.result()
                    halted = halted or ended[tid].state in FAILED_LIKE
        except BaseException:  # Ctrl-C or SIGTERM: tell the running tasks before waiting for them
            ex.kill()
            raise
    return [ended[t.id] for t in tasks if t.id in ended]
