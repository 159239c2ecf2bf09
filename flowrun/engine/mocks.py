"""Mocked tasks (a flow unit test's task fixtures): the task does not run, it ends in a given state and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.engine.outcomes import Failure, capture
from flowrun.model.execution import State, TaskRun
from flowrun.plain import Plain

if TYPE_CHECKING:
    from flowrun.tasks.base import Task
    from flowrun.tasks.runner import Scope

#: the executor (flowrun.engine.executor.Executor): its task-run setters, variables, render and logs
Executor = Any


class TaskMock(Plain):
    """Stands in for task `task_id` (only its task run of loop value `value` when set); `outputs` are rendered
    with the task's variables plus `variables` (e.g. the test's `files`)."""

    FIELDS = ("task_id", "state", "outputs", "value", "description", "variables")

    def __init__(self, task_id: str, state: str = "SUCCESS", outputs: dict[str, Any] | None = None,
                 value: str | None = None, description: str | None = None,
                 variables: dict[str, Any] | None = None) -> None:
        self.task_id = task_id
        self.state = state
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        self.value = value
        self.description = description
        self.variables: dict[str, Any] = {} if variables is None else variables


def find_mock(mocks: list[TaskMock], task_id: str, value: str | None) -> TaskMock | None:
    """The mock of this task run: one for its loop value first, else one for every value."""
    mine = [mock for mock in mocks if mock.task_id == task_id and mock.value in (None, value)]
    return next((mock for mock in mine if mock.value is not None), mine[0] if mine else None)


def run_mock(executor: Executor, task: Task, taskrun: TaskRun, scope: Scope, mock: TaskMock) -> TaskRun:
    """End `taskrun` as the mock says, without running the task (nor, for a flowable, its children)."""
    executor.set_task_state(taskrun, State.RUNNING)
    executor.emit_log(taskrun, None, "INFO", "mocked by a test fixture" + (f": {mock.description}"
                                                                          if mock.description else ""))
    variables = {**executor.task_variables(task, taskrun, scope), **mock.variables}
    outputs = capture(lambda: executor.render(mock.outputs, variables), interrupts=False)
    if isinstance(outputs, Failure):
        executor.emit_log(taskrun, None, "ERROR", f"mocked outputs: {outputs.message}")
        taskrun.error = f"mocked outputs: {outputs.message}"
        return executor.finish_taskrun(task, taskrun, State.FAILED)
    executor.set_outputs(taskrun, outputs if isinstance(outputs, dict) else {})
    return executor.finish_taskrun(task, taskrun, State(mock.state.upper()))
