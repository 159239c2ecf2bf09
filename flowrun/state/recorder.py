"""The recorder: an engine listener that writes executions, task runs, logs and metrics to SQLite."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.errors import FlowrunError, StateError
from flowrun.model.execution import Execution, TaskRun, iso
from flowrun.state import processes
from flowrun.state.db import Database
from flowrun.state.store import abandon_execution


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class Recorder(BaseListener):
    """Every event is committed before the engine goes on, so a crash leaves finished attempts on disk.

    The first write that fails (a damaged or full state DB, an unusable secret key) stops recording:
    `on_failure` is told (the caller stops the execution), later events are dropped, and `raise_if_failed`
    ends the command with a StateError after marking the execution's row FAILED, so that no row is left RUNNING.
    """

    def __init__(self, db: Database, seal: Any, on_failure: Callable[[FlowrunError], None] | None = None) -> None:
        self.db = db
        self.seal = seal  # callable(execution, value, secret_paths) -> value safe to store
        self.on_failure = on_failure
        self.failure: FlowrunError | None = None
        self._created: set[str] = set()

    def _execute(self, sql: str, params: Any) -> bool:
        """Run one statement in its own write transaction; False once recording has failed."""
        if self.failure is not None:
            return False
        try:
            with self.db.write() as conn:
                conn.execute(sql, params)
            return True
        except (StateError, sqlite3.Error) as exc:
            self._fail(exc)
            return False

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
            f"cannot write to the state database {self.db.path}: {exc}")
        if self.on_failure is not None:
            self.on_failure(self.failure)

    def execution_updated(self, execution: Execution) -> None:
        if self.failure is not None:
            return
        try:
            inputs = dumps(self.seal(execution.inputs, execution.secret_inputs))
            outputs = dumps(self.seal(execution.outputs, set()))
        except FlowrunError as exc:  # the secret key is unusable: never store the values in clear
            self._fail(exc)
            return
        row = {
            "id": execution.id, "namespace": execution.namespace, "flow_id": execution.flow_id,
            "state": execution.state, "start_date": iso(execution.start_date), "end_date": iso(execution.end_date),
            "inputs": inputs, "outputs": outputs,
            "labels": dumps([{"key": k, "value": v} for k, v in execution.labels]),
            "trigger": dumps(execution.trigger) if execution.trigger is not None else None,
            "histories": dumps(execution.histories), "error": execution.error,
            "flow_source": execution.flow_source, "flow_revision": execution.flow_revision,
        }
        insert = dict(row, created_at=iso(execution.start_date), parent_id=execution.parent_id,
                      flow_path=execution.flow_path, original_id=execution.original_id, pid=os.getpid(), host=socket.gethostname(),
                      heartbeat=time.time())
        cols = ", ".join(insert)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "id")
        self._execute(f"INSERT INTO executions ({cols}) VALUES ({', '.join(':' + c for c in insert)}) "
                      f"ON CONFLICT(id) DO UPDATE SET {updates}, pid = excluded.pid, host = excluded.host, "
                      "heartbeat = excluded.heartbeat", insert)

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        if self.failure is not None:
            return
        try:
            outputs = dumps(self.seal(taskrun.outputs, set()))
        except FlowrunError as exc:
            self._fail(exc)
            return
        row = {
            "id": taskrun.id, "execution_id": taskrun.execution_id, "seq": taskrun.seq, "task_id": taskrun.task_id,
            "task_type": taskrun.task_type, "parent_task_run_id": taskrun.parent_id, "value": taskrun.value,
            "iteration": taskrun.iteration, "state": taskrun.state, "start_date": iso(taskrun.start_date),
            "end_date": iso(taskrun.end_date), "outputs": outputs,
            "attempts": dumps([a.to_json() for a in taskrun.attempts]), "error": taskrun.error,
        }
        if taskrun.id in self._created:
            self._execute("UPDATE task_runs SET state = :state, end_date = :end_date, outputs = :outputs, "
                          "attempts = :attempts, error = :error WHERE id = :id", row)
        elif self._execute(f"INSERT OR REPLACE INTO task_runs ({', '.join(row)}) VALUES "
                           f"({', '.join(':' + c for c in row)})", row):
            self._created.add(taskrun.id)

    def log(self, line: LogLine) -> None:
        self._execute("INSERT INTO logs (execution_id, task_run_id, task_id, attempt, level, timestamp, message) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (line.execution_id, line.task_run_id, line.task_id, line.attempt, line.level,
                       iso(line.timestamp), line.message))

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        self._execute("INSERT INTO metrics (execution_id, task_run_id, name, type, value, tags, timestamp) "
                      "VALUES (?, ?, ?, ?, ?, ?, datetime('now'))",
                      (execution.id, taskrun.id, name, type, value, dumps(tags)))
    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        processes.record(self.db, execution.id, taskrun.id, taskrun.task_id, attempt, pgid)

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        processes.forget(self.db, pgid)
