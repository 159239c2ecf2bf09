"""What a flowable task may ask of the executor driving it: the `Runner` protocol and the `Scope` it runs in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flowrun.plain import Plain

if TYPE_CHECKING:
    from flowrun.engine.services import Services
    from flowrun.model.execution import Execution, State, TaskRun
    from flowrun.model.flow import Flow
    from flowrun.tasks.base import Task


class Scope(Plain):
    """Where a task run sits: its loop values, parents and (inside WorkingDirectory) a shared dir."""

    FIELDS = ("value_path", "parents", "shared_dir", "parent_run", "retry")

    def __init__(self, value_path: tuple[str, ...] = (), parents: list[dict[str, Any]] | None = None,
                 shared_dir: Path | None = None, parent_run: TaskRun | None = None, retry: Any = None) -> None:
        self.value_path = value_path
        self.parents: list[dict[str, Any]] = [] if parents is None else parents
        self.shared_dir = shared_dir
        self.parent_run = parent_run
        self.retry = retry

    def child(self, parent_run: TaskRun) -> Scope:
        """The scope of a flowable's children: the flowable becomes their parent."""
        parents = self.parents
        if parent_run.value is not None or parent_run.outputs:
            current: dict[str, Any] = {"taskrun": {"value": parent_run.value}}
            if parent_run.outputs:
                current["outputs"] = parent_run.outputs
            parents = [current, *self.parents]
        return Scope(self.value_path, parents, self.shared_dir, parent_run, self.retry)

    def iterate(self, value: str) -> Scope:
        """The scope of one loop iteration: outputs are keyed by `value` below this point."""
        return Scope((*self.value_path, value), self.parents, self.shared_dir, self.parent_run, self.retry)


class Runner(Protocol):
    """The executor as flowables (and each task's RunContext) see it. `flowrun.engine.executor` implements it."""

    flow: Flow
    execution: Execution
    #: the project's services (state DB, storage, KV, secrets, masker, the project, how to start a subflow)
    services: Services
    #: set once the execution is being killed (Ctrl-C, SIGTERM, a KILLED task)
    killed: threading.Event
    #: the internal-storage prefix of this execution's files
    storage_prefix: str
    #: PAUSED task runs of an earlier run to resume now, by task run id (flowrun.engine.pause.Resumption)
    resumptions: dict[str, Any]

    def task_variables(self, task: Task | None, taskrun: TaskRun | None, scope: Scope) -> dict[str, Any]:
        """The template variables a task (or, with None, the flow) sees right now."""
        ...

    def render(self, value: Any, variables: dict[str, Any], typed: bool = False) -> Any:
        """Render a raw property; a template error is a TaskError."""
        ...

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any]) -> None: ...

    def set_task_state(self, taskrun: TaskRun, state: str) -> None: ...

    def emit_log(self, taskrun: TaskRun | None, attempt: int | None, level: str, message: str) -> None: ...

    def emit_metric(self, taskrun: TaskRun, name: str, type: str, value: float, tags: dict[str, str]) -> None: ...

    def emit_process_started(self, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        """An attempt started process group `pgid` (recorded, so that it can be stopped if flowrun dies)."""
        ...

    def emit_process_ended(self, taskrun: TaskRun, attempt: int, pgid: int) -> None: ...

    def add_labels(self, labels: dict[str, str]) -> None: ...

    def child_taskrun(self, parent: TaskRun, name: str) -> TaskRun:
        """A task run under `parent` that its task reports itself (one per dbt node)."""
        ...

    def update_child(self, child: TaskRun) -> None:
        """Publish a reported task run's new state, dates or outputs."""
        ...

    def run_group(self, tasks: list[Task], scope: Scope, errors: list[Task] | None, concurrent: int = 1) -> State:
        """Run child tasks (in order, or `concurrent` at a time; 0 = all), then `errors` if they failed."""
        ...

    def run_each(self, tasks: list[Task], values: list[str], scope: Scope, errors: list[Task] | None,
                 limit: int) -> State:
        """Run the group once per value, `limit` groups at a time (0 = all)."""
        ...

    def run_dag(self, tasks: list[Task], deps: dict[str, list[str]], scope: Scope, errors: list[Task] | None,
                limit: int) -> State:
        """Run each task once the tasks it depends on have ended, `limit` at a time (0 = all)."""
        ...

    def retire_earlier_iterations(self, parent: TaskRun, first_task_id: str) -> None:
        """A loop continued from an earlier run: its task runs of earlier iterations are kept, not reused."""
        ...

    def keep_children(self, parent: TaskRun) -> None:
        """Keep, as they were recorded, the task runs below `parent` of an earlier run (it is not run again)."""
        ...

    def set_execution_state(self, state: State) -> None:
        """Move the execution to `state` (PAUSED while a pause waits, RESTARTED then RUNNING when it resumes)."""
        ...

    def end_execution(self, state: State) -> None:
        """End the execution in `state` (Exit): no task starts after this; tasks already running go on."""
        ...

    def run_in_background(self, target: Callable[[], object]) -> None:
        """Start work the execution does not wait for (joined before the process exits)."""
        ...
