"""Pause as Kestra 1.x runs it: PAUSED until resumed, or until `pauseDuration`/`timeout`, then its behavior."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError
from flowrun.model.execution import State, utcnow

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope

#: `behavior` -> the state the Pause task run ends in when its pauseDuration has passed
BEHAVIORS = {"RESUME": State.SUCCESS, "WARN": State.WARNING, "CANCEL": State.CANCELLED, "FAIL": State.FAILED}


@dataclass(frozen=True)
class Resumption:
    """How a PAUSED task run goes on: the state it resumes to, and the `onResume` inputs given (if any)."""

    to: State = State.SUCCESS
    inputs: dict[str, Any] | None = None
    by: str | None = None


def planned_resume(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> tuple[float, State] | None:
    """Seconds until the pause resumes by itself, and to what: `pauseDuration` (or `delay`) with `behavior`,
    else `timeout`, which fails it (as Kestra's executor does); None when only a resume continues it."""
    from flowrun.durations import parse_duration

    variables = ex.task_variables(task, taskrun, scope)
    duration = task.pause_duration or task.delay
    rendered = ex.render(duration, variables) if duration is not None else None
    if rendered not in (None, ""):
        behavior = str(ex.render(task.behavior, variables)).strip().upper()
        if behavior not in BEHAVIORS:
            raise TaskError(f"behavior `{behavior}` is not one of {', '.join(BEHAVIORS)}")
        return parse_duration(str(rendered)).total_seconds(), BEHAVIORS[behavior]
    timeout = ex.render(task.timeout, variables) if task.timeout is not None else None
    if timeout not in (None, ""):
        return parse_duration(str(timeout)).total_seconds(), State.FAILED
    return None


def _wait_limit(ex: Runner) -> float:
    from flowrun.durations import parse_duration

    config = getattr(getattr(ex.services, "project", None), "config", None)
    return parse_duration(getattr(config, "pause_wait", "PT1M")).total_seconds()


def start_pause(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> State:
    """The first run of a Pause: PAUSED (the execution too), its `onPause` task run, then its delay if any.

    A delay within the project's `pauseWait` is waited for here; a longer one leaves the task run PAUSED with its
    resume date recorded, for `flowrun tick` to resume once it has passed.
    """
    plan = planned_resume(ex, task, taskrun, scope)
    ex.set_task_state(taskrun, State.PAUSED)
    ex.set_execution_state(State.PAUSED)
    if task.on_pause is not None:
        ex.run_group([task.on_pause], scope.child(taskrun), None)
    if plan is None:
        ex.emit_log(taskrun, None, "INFO", f"paused: continue it with `flowrun resume {ex.execution.id}`")
        return State.PAUSED
    seconds, to = plan
    resume_at = utcnow() + timedelta(seconds=max(seconds, 0.0))
    ex.services.db.record_pause_delay(ex.execution.id, taskrun.id, resume_at, to.value)
    if seconds > _wait_limit(ex):
        ex.emit_log(taskrun, None, "INFO", f"paused until {_local(resume_at)}, then {to.value}: `flowrun tick` "
                    f"resumes it once that date has passed (or `flowrun resume {ex.execution.id}` now)")
        return State.PAUSED
    if ex.killed.wait(max(seconds, 0.0)):
        return State.KILLED
    ex.services.db.drop_pause_delay(taskrun.id)
    return resume(ex, task, taskrun, scope, Resumption(to))


def continue_paused(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> State | None:
    """A Pause task run of an earlier run: resumed (its new state) if the caller asked for it, else kept as it
    was (None), still PAUSED or ended, never paused again."""
    resumption = ex.resumptions.pop(taskrun.id, None) if taskrun.state == State.PAUSED else None
    ex.keep_children(taskrun)  # `onPause`, or the subtasks of an ended pause
    if resumption is None:
        ex.set_outputs(taskrun, taskrun.outputs)
        ex.set_task_state(taskrun, taskrun.state)
        return None
    ex.services.db.drop_pause_delay(taskrun.id)
    return resume(ex, task, taskrun, scope, resumption)


def _local(moment: datetime) -> str:
    return moment.astimezone().replace(tzinfo=None).isoformat(timespec="milliseconds")


def resume(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope, resumption: Resumption) -> State:
    """Resume a PAUSED task run as Kestra's `markAs` does: outputs `resumed` (and `onResume`); without subtasks
    it ends in the resumed state, with some it goes RUNNING and runs them (RESUME, WARN) or its `errors` (FAIL)."""
    to = resumption.to
    outputs: dict[str, Any] = {"resumed": {"by": resumption.by, "on": _local(utcnow()), "to": to.value}}
    if resumption.inputs is not None:
        outputs["onResume"] = resumption.inputs
    ex.set_outputs(taskrun, outputs)
    if to == State.CANCELLED:
        ex.end_execution(State.CANCELLED)
        return State.CANCELLED
    others = any(tr.state == State.PAUSED and tr is not taskrun for tr in list(ex.execution.task_runs))
    if ex.execution.state == State.PAUSED and not others:
        ex.set_execution_state(State.RESTARTED)
        ex.set_execution_state(State.RUNNING)
    if not (task.tasks or task.errors or task.finally_):
        return to
    ex.set_task_state(taskrun, State.RUNNING)
    inner = scope.child(taskrun)
    if to in (State.SUCCESS, State.WARNING):
        state = ex.run_group(task.tasks or [], inner, task.errors)
        state = State.WARNING if to == State.WARNING and state == State.SUCCESS else state
    else:
        state = to
        if task.errors:
            ex.run_group(task.errors, inner, None)
    if task.finally_:
        ex.run_group(task.finally_, inner, None)
    return state
