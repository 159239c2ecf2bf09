"""The recorder: an engine listener that writes executions, task runs, logs and metrics to the state store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.errors import FlowrunError, StateError
from flowrun.model.execution import Execution, TaskRun, iso
from flowrun.state.protocol import StateStore
from flowrun.state.store import abandon_execution


class Recorder(BaseListener):
    """Every event is committed before the engine goes on, so a crash leaves finished attempts on disk.

    The first write that fails (a damaged or full state DB, an unusable secret key) stops recording:
    `on_failure` is told (the caller stops the execution), later events are dropped, and `raise_if_failed`
    ends the command with a StateError after marking the execution's row FAILED, so that no row is left RUNNING.
    """

    def __init__(self, db: StateStore, seal: Any, on_failure: Callable[[FlowrunError], None] | None = None) -> None:
        self.db = db
        self.seal = seal  # callable(execution, value, secret_paths) -> value safe to store
        self.on_failure = on_failure
        self.failure: FlowrunError | None = None
        self._created: set[str] = set()

    def _write(self, write: Callable[..., None], *args: Any) -> bool:
        """One store write (its own transaction); False once recording has failed."""
        if self.failure is not None:
            return False
        try:
            write(*args)
            return True
        except (StateError, sqlite3.Error) as exc:
            self._fail(exc)
            return False

    def _sealed(self, value: Any, secret_paths: set[str]) -> tuple[bool, Any]:
        """(True, value safe to store), or (False, None) after failing: never store the values in clear."""
        if self.failure is not None:
            return False, None
        try:
            return True, self.seal(value, secret_paths)
        except FlowrunError as exc:  # the secret key is unusable
            self._fail(exc)
            return False, None

    def raise_if_failed(self, execution: Execution) -> None:
        """After a failed write: mark the execution FAILED (best effort) and raise the StateError."""
        if self.failure is None:
            return
        error = f"flowrun could not record this execution: {self.failure.message}"
        note = ("it is not left RUNNING" if abandon_execution(self.db, execution.id, error) else
                "its row could not be updated: once the DB is repaired, the next command marks it KILLED")
        raise StateError(f"flowrun could not record execution {execution.id}, so it was stopped ({note}): "
                         f"{self.failure.message}", hint=self.failure.hint) from self.failure

    def _fail(self, exc: FlowrunError | sqlite3.Error) -> None:
        self.failure = exc if isinstance(exc, FlowrunError) else StateError(
            f"cannot write to the state database {self.db.location}: {exc}")
        if self.on_failure is not None:
            self.on_failure(self.failure)

    def execution_updated(self, execution: Execution) -> None:
        sealed, inputs = self._sealed(execution.inputs, execution.secret_inputs)
        sealed, outputs = self._sealed(execution.outputs, set()) if sealed else (False, None)
        if sealed:
            self._write(self.db.save_execution, execution, inputs, outputs)

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        sealed, outputs = self._sealed(taskrun.outputs, set())
        if not sealed:
            return
        if taskrun.id in self._created:
            self._write(self.db.update_task_run, taskrun, outputs)
        elif self._write(self.db.insert_task_run, taskrun, outputs):
            self._created.add(taskrun.id)

    def log(self, line: LogLine) -> None:
        self._write(self.db.add_log, line.execution_id, line.task_run_id, line.task_id, line.attempt, line.level,
                    iso(line.timestamp), line.message)

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        self._write(self.db.add_metric, execution.id, taskrun.id, name, type, value, tags)

    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.db.record_process(execution.id, taskrun.id, taskrun.task_id, attempt, pgid)

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.db.forget_process(pgid)
