"""SQLite rows of executions, task runs, logs and metrics: the recorder's writes and the reads behind inspection."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from typing import Any

from flowrun.errors import StateError
from flowrun.model.execution import Execution, TaskRun, iso
from flowrun.state.liveness import ACTIVE
from flowrun.state.records import Row
from flowrun.state.sqlbase import SqlBase, as_dict, as_dicts


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _taskrun_row(taskrun: TaskRun, outputs: Any) -> dict[str, Any]:
    return {
        "id": taskrun.id, "execution_id": taskrun.execution_id, "seq": taskrun.seq, "task_id": taskrun.task_id,
        "task_type": taskrun.task_type, "parent_task_run_id": taskrun.parent_id, "value": taskrun.value,
        "iteration": taskrun.iteration, "state": taskrun.state, "start_date": iso(taskrun.start_date),
        "end_date": iso(taskrun.end_date), "outputs": dumps(outputs),
        "attempts": dumps([a.to_json() for a in taskrun.attempts]), "error": taskrun.error,
        "histories": dumps(taskrun.histories),
    }


class SqliteExecutions(SqlBase):
    """Every event is committed before the engine goes on, so a crash leaves finished attempts on disk."""

    def save_execution(self, execution: Execution, inputs: Any, outputs: Any) -> None:
        row = {
            "id": execution.id, "namespace": execution.namespace, "flow_id": execution.flow_id,
            "state": execution.state, "start_date": iso(execution.start_date), "end_date": iso(execution.end_date),
            "inputs": dumps(inputs), "outputs": dumps(outputs),
            "labels": dumps([{"key": k, "value": v} for k, v in execution.labels]),
            "trigger": dumps(execution.trigger) if execution.trigger is not None else None,
            "histories": dumps(execution.histories), "error": execution.error,
            "flow_source": execution.flow_source, "flow_revision": execution.flow_revision,
        }
        insert = dict(row, created_at=iso(execution.start_date), parent_id=execution.parent_id,
                      flow_path=execution.flow_path, original_id=execution.original_id, pid=os.getpid(),
                      host=socket.gethostname(), heartbeat=time.time())
        cols = ", ".join(insert)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "id")
        with self.write() as conn:
            conn.execute(f"INSERT INTO executions ({cols}) VALUES ({', '.join(':' + c for c in insert)}) "
                         f"ON CONFLICT(id) DO UPDATE SET {updates}, pid = excluded.pid, host = excluded.host, "
                         "heartbeat = excluded.heartbeat", insert)

    def insert_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        row = _taskrun_row(taskrun, outputs)
        with self.write() as conn:
            conn.execute(f"INSERT OR REPLACE INTO task_runs ({', '.join(row)}) VALUES "
                         f"({', '.join(':' + c for c in row)})", row)

    def update_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        row = _taskrun_row(taskrun, outputs)
        with self.write() as conn:
            conn.execute("UPDATE task_runs SET state = :state, end_date = :end_date, outputs = :outputs, "
                         "attempts = :attempts, error = :error, histories = :histories WHERE id = :id", row)

    def add_log(self, execution_id: str, task_run_id: str | None, task_id: str | None, attempt: int | None,
                level: str, timestamp: str | None, message: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO logs (execution_id, task_run_id, task_id, attempt, level, timestamp, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (execution_id, task_run_id, task_id, attempt, level, timestamp, message))

    def add_metric(self, execution_id: str, task_run_id: str, name: str, kind: str, value: float,
                   tags: dict[str, Any]) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())  # the form SQLite's datetime('now') gave
        with self.write() as conn:
            conn.execute(
                "INSERT INTO metrics (execution_id, task_run_id, name, type, value, tags, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (execution_id, task_run_id, name, kind, value, dumps(tags), stamp))

    def beat(self, execution_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE executions SET heartbeat = ? WHERE id = ?", (time.time(), execution_id))

    def active_executions(self) -> list[Row]:
        return as_dicts(self.query(f"SELECT id, pid, host, heartbeat FROM executions WHERE state IN {ACTIVE}"))

    def mark_killed(self, execution_ids: list[str], stamp: str, error: str, message: str) -> None:
        with self.write() as conn:
            for execution_id in execution_ids:
                conn.execute(f"UPDATE task_runs SET state = 'KILLED', end_date = COALESCE(end_date, ?) "
                             f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
                found = conn.execute("SELECT histories FROM executions WHERE id = ?", (execution_id,)).fetchone()
                entries = json.loads((found[0] if found else None) or "[]") + [{"state": "KILLED", "date": stamp}]
                conn.execute(f"UPDATE executions SET state = 'KILLED', end_date = ?, histories = ?, error = ? "
                             f"WHERE id = ? AND state IN {ACTIVE}", (stamp, json.dumps(entries), error, execution_id))
                conn.execute("INSERT INTO logs (execution_id, level, timestamp, message) VALUES (?, 'ERROR', ?, ?)",
                             (execution_id, stamp, message))

    def abandon_execution(self, execution_id: str, error: str, stamp: str) -> bool:
        # Best effort on a damaged DB: the execution row first, in its own transaction, so that a damaged
        # task_runs table or index cannot keep it RUNNING.
        try:
            with self.write() as conn:
                conn.execute(f"UPDATE executions SET state = 'FAILED', end_date = COALESCE(end_date, ?), error = ?, "
                             "histories = json_insert(histories, '$[#]', json_object('state', 'FAILED', 'date', ?)) "
                             f"WHERE id = ? AND state IN {ACTIVE}", (stamp, error, stamp, execution_id))
        except (StateError, sqlite3.Error):
            return False
        try:
            with self.write() as conn:
                conn.execute(f"UPDATE task_runs SET state = 'FAILED', end_date = COALESCE(end_date, ?) "
                             f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
        except (StateError, sqlite3.Error):
            pass  # the execution is FAILED; its task runs are shown as they were last recorded
        return True

    def list_executions(self, namespace: str | None, flow_id: str | None, state: str | None,
                        limit: int) -> list[Row]:
        sql = "SELECT * FROM executions WHERE 1=1"
        params: list[Any] = []
        for column, value in (("flow_id", flow_id), ("namespace", namespace), ("state", state)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        params.append(limit)
        return as_dicts(self.query(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", tuple(params)))

    def find_execution(self, id_or_prefix: str) -> Row | None:
        row = self.query_one("SELECT * FROM executions WHERE id = ?", (id_or_prefix,))
        if row is None:
            rows = self.query("SELECT * FROM executions WHERE id LIKE ? LIMIT 2", (id_or_prefix + "%",))
            row = rows[0] if len(rows) == 1 else None
        return as_dict(row)

    def task_run_rows(self, execution_id: str) -> list[Row]:
        return as_dicts(self.query("SELECT * FROM task_runs WHERE execution_id = ? ORDER BY seq", (execution_id,)))

    def log_rows(self, execution_id: str, task_id: str | None = None) -> list[Row]:
        sql, params = "SELECT * FROM logs WHERE execution_id = ?", [execution_id]
        if task_id:
            sql += " AND task_id = ?"
            params.append(task_id)
        return as_dicts(self.query(sql + " ORDER BY id", tuple(params)))

    def ended_since(self, namespace: str | None, flow_id: str | None, states: list[str], since: str) -> bool:
        marks = ",".join("?" * len(states))
        return self.query_one(f"SELECT id FROM executions WHERE namespace = ? AND flow_id = ? AND state IN ({marks}) "
                              "AND end_date >= ? LIMIT 1", (namespace, flow_id, *states, since)) is not None
