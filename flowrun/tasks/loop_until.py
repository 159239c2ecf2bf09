"""LoopUntil (and its alias WaitFor): run the subtasks again and again until `condition` is true."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.errors import TaskError
from flowrun.model.base import Strict
from flowrun.model.execution import FAILED_LIKE, State, utcnow
from flowrun.model.lite import Field
from flowrun.tasks.base import Task
from flowrun.tasks.flowable import Flowable

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


class CheckFrequency(Strict):
    """`checkFrequency`: when the loop gives up (`maxIterations`, `maxDuration`) and how long it waits between two
    iterations (`interval`). A limit left out is no limit."""

    max_iterations: int | str | None = None
    max_duration: str | None = None
    interval: str = "PT1M"


class LoopUntil(Flowable):
    """Run `tasks` (in order), then render `condition`: stop when it is true, else wait `checkFrequency.interval`
    and run them again, up to `maxIterations` iterations or `maxDuration`. Reaching a limit ends the loop in the
    state of its last iteration, or FAILED with `failOnMaxReached: true`; a failed subtask ends it FAILED (then
    `errors`, then `finally`). `outputs.<id>.iterationCount` counts the iterations (1 in the first).

    flowrun keeps the task runs of every iteration (Kestra 1.x keeps those of the last one only).
    """

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")

    tasks: list[Task] = Field(min_length=1)
    condition: str
    fail_on_max_reached: bool | str = False
    check_frequency: CheckFrequency = Field(default_factory=CheckFrequency)
    finally_: list[Task] | None = Field(default=None, alias="finally")

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.durations import parse_duration
        from flowrun.templating.truth import is_true

        limits = self._limits(ex, taskrun, scope)
        inner = scope.child(taskrun)
        count = int(taskrun.outputs.get("iterationCount") or 1)  # a restart or resume goes on where it stopped
        if count > 1:
            first = next((task.id for task in self.tasks if not task.disabled), None)
            if first is not None:
                ex.retire_earlier_iterations(taskrun, first)
        while True:
            ex.set_outputs(taskrun, {"iterationCount": count})
            state = ex.run_group(self.tasks, inner, None)
            if state in FAILED_LIKE or state == State.PAUSED or ex.killed.is_set():
                break
            elapsed = (utcnow() - taskrun.start_date).total_seconds()
            if self._reached(ex, taskrun, limits, count, elapsed):
                if is_true(ex.render(self.fail_on_max_reached, ex.task_variables(self, taskrun, scope))):
                    state = State.FAILED
                break
            if is_true(ex.render(self.condition, ex.task_variables(self, taskrun, scope))):
                break
            if ex.killed.wait(parse_duration(limits["interval"]).total_seconds()):
                return State.KILLED
            count += 1
        return self._end(ex, inner, state)

    def _limits(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> dict[str, Any]:
        """`checkFrequency` rendered: maxIterations (int or None), maxDuration and interval (text or None)."""
        rendered = ex.render(self.check_frequency.model_dump(), ex.task_variables(self, taskrun, scope))
        try:
            most = int(rendered["max_iterations"]) if rendered["max_iterations"] not in (None, "") else None
        except ValueError:
            raise TaskError(f"checkFrequency.maxIterations `{rendered['max_iterations']}` is not a number") from None
        return {"max_iterations": most, "max_duration": rendered["max_duration"] or None,
                "interval": rendered["interval"]}

    def _reached(self, ex: Runner, taskrun: TaskRun, limits: dict[str, Any], count: int, elapsed: float) -> bool:
        from flowrun.durations import parse_duration

        if limits["max_iterations"] is not None and count >= limits["max_iterations"]:
            ex.emit_log(taskrun, None, "WARN", "Max iterations reached")
            return True
        if limits["max_duration"] and elapsed > parse_duration(limits["max_duration"]).total_seconds():
            ex.emit_log(taskrun, None, "WARN", "Max duration reached")
            return True
        return False

    def _end(self, ex: Runner, inner: Scope, state: State) -> State:
        if state in FAILED_LIKE and self.errors and not ex.killed.is_set():
            ex.run_group(self.errors, inner, None)
        if self.finally_ and not ex.killed.is_set():
            ex.run_group(self.finally_, inner, None)
        return state


class WaitForFrequency(CheckFrequency):
    """WaitFor's `checkFrequency`, with Kestra 1.1's defaults for whatever is left out."""

    max_iterations: int | str | None = 100
    max_duration: str | None = "PT1H"
    interval: str = "PT1S"


class WaitFor(LoopUntil):
    """Kestra 1.1's name of LoopUntil, with its defaults: at most 100 iterations and PT1H, PT1S between two.

    flowrun keeps the task runs of every iteration (Kestra 1.x keeps those of the last one only).
    """

    check_frequency: WaitForFrequency = Field(default_factory=WaitForFrequency)
