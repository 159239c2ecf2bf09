"""Continuing an execution: which task runs of its earlier run are adopted as they were, and which run again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flowrun.model.execution import State

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.base import Task
    from flowrun.tasks.runner import Scope

#: the executor (flowrun.engine.executor.Executor): its reuse map, lock, execution and task-run setters
Executor = Any


def adopt(ex: Executor, task: Task, previous: TaskRun, scope: Scope) -> TaskRun | None:
    """Adopt a finished task run of an earlier run; None means: run it again in place.

    A Pause task run is resumed (when asked) or kept as it was, never paused again.
    """
    if previous not in ex.execution.task_runs:
        with ex.lock:
            ex.execution.task_runs.append(previous)
    if previous.state in (State.SUCCESS, State.WARNING, State.SKIPPED) and not task.flowable:
        ex.set_outputs(previous, previous.outputs)
        ex.set_task_state(previous, previous.state)
        return previous
    if getattr(task, "pausable", False) and previous.state in (State.PAUSED, State.SUCCESS, State.WARNING):
        state = cast(Any, task).continue_paused(ex, previous, scope)
        return previous if state is None else ex.finish_taskrun(task, previous, state)
    previous.end_date, previous.error = None, None
    return None


def keep_children(ex: Executor, parent: TaskRun) -> None:
    """Keep, as they were recorded, the task runs below `parent` of the earlier run (it is not run again)."""
    below = {parent.id}
    for key, run in sorted(ex.reuse.items(), key=lambda item: item[1].seq):
        if run.parent_id in below:
            below.add(run.id)
            del ex.reuse[key]
            with ex.lock:
                ex.execution.task_runs.append(run)
            ex.set_outputs(run, run.outputs)
            ex.set_task_state(run, run.state)


def retire_earlier_iterations(ex: Executor, parent: TaskRun, first_task_id: str) -> None:
    """A loop continued from an earlier run: the task runs below it from before the last start of its first
    child `first_task_id` (earlier iterations) stay as recorded and are not reused for this iteration."""
    starts = [run.seq for run in ex.reuse.values() if run.parent_id == parent.id and run.task_id == first_task_id]
    if not starts:
        return
    below, boundary = {parent.id}, max(starts)
    for key, run in sorted(ex.reuse.items(), key=lambda item: item[1].seq):
        if run.parent_id in below:
            below.add(run.id)
            if run.seq < boundary:
                del ex.reuse[key]
                with ex.lock:
                    ex.execution.task_runs.append(run)
