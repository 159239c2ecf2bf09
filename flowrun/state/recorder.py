"""The recorder: an engine listener that writes executions, task runs, logs and metrics to SQLite."""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.model.execution import Execution, TaskRun, iso
from flowrun.state.db import Database


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class Recorder(BaseListener):
    """Every event is committed before the engine goes on, so a crash leaves finished attempts on disk."""

    def __init__(self, db: Database, seal: Any) -> None:
        self.db = db
        self.seal = seal  # callable(execution, value, secret_paths) -> value safe to store
        self._created: set[str] = set()

    def execution_updated(self, execution: Execution) -> None:
        row = {
            "id": execution.id, "namespace": execution.namespace, "flow_id": execution.flow_id,
            "state": execution.state, "start_date": iso(execution.start_date), "end_date": iso(execution.end_date),
            "inputs": dumps(self.seal(execution.inputs, execution.secret_inputs)),
            "outputs": dumps(self.seal(execution.outputs, set())),
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
        with self.db.write() as conn:
            conn.execute(f"INSERT INTO executions ({cols}) VALUES ({', '.join(':' + c for c in insert)}) "
                         f"ON CONFLICT(id) DO UPDATE SET {updates}, pid = excluded.pid, host = excluded.host, "
                         "heartbeat = excluded.heartbeat", insert)

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        row = {
            "id": taskrun.id, "execution_id": taskrun.execution_id, "seq": taskrun.seq, "task_id": taskrun.task_id,
            "task_type": taskrun.task_type, "parent_task_run_id": taskrun.parent_id, "value": taskrun.value,
            "iteration": taskrun.iteration, "state": taskrun.state, "start_date": iso(taskrun.start_date),
            "end_date": iso(taskrun.end_date), "outputs": dumps(self.seal(taskrun.outputs, set())),
            "attempts": dumps([a.to_json() for a in taskrun.attempts]), "error": taskrun.error,
        }
        with self.db.write() as conn:
            if taskrun.id in self._created:
                conn.execute(
                    "UPDATE task_runs SET state = :state, end_date = :end_date, outputs = :outputs, "
                    "attempts = :attempts, error = :error WHERE id = :id", row)
            else:
                cols = ", ".join(row)
                conn.execute(f"INSERT OR REPLACE INTO task_runs ({cols}) VALUES "
                             f"({', '.join(':' + c for c in row)})", row)
                self._created.add(taskrun.id)

    def log(self, line: LogLine) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO logs (execution_id, task_run_id, task_id, attempt, level, timestamp, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (line.execution_id, line.task_run_id, line.task_id, line.attempt, line.level,
                 iso(line.timestamp), line.message))

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO metrics (execution_id, task_run_id, name, type, value, tags, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, datetime('now'))",
                (execution.id, taskrun.id, name, type, value, dumps(tags)))
