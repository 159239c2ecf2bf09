"""Rows of executions, task runs, logs and metrics: the recorder's writes and the reads behind inspection."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from flowrun.errors import StateError
from flowrun.model.execution import Execution, TaskRun, iso
from flowrun.state.liveness import ACTIVE, host_name
from flowrun.state.processes import delete_process, insert_process
from flowrun.state.sqlbase import SqlBase, as_dict, as_dicts

if TYPE_CHECKING:
    from flowrun.state.batch import Batch
    from flowrun.state.records import ExecutionQuery, Row


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def namespace_clause(namespace: str) -> tuple[str, list[Any]]:
    """`namespace` or one of its children, compared byte for byte on both backends (LIKE ignores case on
    SQLite and not on Postgres, so it is not used)."""
    child = namespace + "."
    return "(namespace = ? OR substr(namespace, 1, ?) = ?)", [namespace, len(child), child]


def label_clause(key: str, value: str) -> tuple[str, list[Any]]:
    """The label `key: value`, matched exactly (case included, as Kestra does): the stored JSON list holds
    its `{"key": .., "value": ..}` object, written as `dumps` writes it. `replace` is case-sensitive on both
    backends, where LIKE is not."""
    return "replace(labels, ?, '') <> labels", [dumps({"key": key, "value": value})]


def taskrun_row(taskrun: TaskRun, outputs: Any) -> dict[str, Any]:
    """The columns of a task run's row (`outputs` already sealed), as JSON text where the schema stores JSON."""
    return {
        "id": taskrun.id, "execution_id": taskrun.execution_id, "seq": taskrun.seq, "task_id": taskrun.task_id,
        "task_type": taskrun.task_type, "parent_task_run_id": taskrun.parent_id, "value": taskrun.value,
        "iteration": taskrun.iteration, "state": taskrun.state, "start_date": iso(taskrun.start_date),
        "end_date": iso(taskrun.end_date), "outputs": dumps(outputs),
        "attempts": dumps([a.to_json() for a in taskrun.attempts]), "error": taskrun.error,
        "histories": dumps(taskrun.histories), "worker": taskrun.worker,
    }


_TASKRUN_COLUMNS = ("id", "execution_id", "seq", "task_id", "task_type", "parent_task_run_id", "value", "iteration",
                    "state", "start_date", "end_date", "outputs", "attempts", "error", "histories", "worker")
INSERT_TASK_RUN = (f"INSERT INTO task_runs ({', '.join(_TASKRUN_COLUMNS)}) "
                   f"VALUES ({', '.join(':' + c for c in _TASKRUN_COLUMNS)}) ON CONFLICT (id) DO UPDATE SET "
                   + ", ".join(f"{c} = excluded.{c}" for c in _TASKRUN_COLUMNS if c != "id"))
UPDATE_TASK_RUN = ("UPDATE task_runs SET state = :state, end_date = :end_date, outputs = :outputs, "
                   "attempts = :attempts, error = :error, histories = :histories, worker = :worker WHERE id = :id")
INSERT_LOG = ("INSERT INTO logs (execution_id, task_run_id, task_id, attempt, level, timestamp, message) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)")
INSERT_METRIC = ("INSERT INTO metrics (execution_id, task_run_id, name, type, value, tags, timestamp) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)")


def metric_stamp() -> str:
    """Now, in the form SQLite's datetime('now') gave (what the metrics table holds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def _execution_upsert(execution: Execution, inputs: Any, outputs: Any,
                      variables: Any = None) -> tuple[str, dict[str, Any]]:
    row = {
        "id": execution.id, "namespace": execution.namespace, "flow_id": execution.flow_id,
        "state": execution.state, "start_date": iso(execution.start_date), "end_date": iso(execution.end_date),
        "inputs": dumps(inputs), "outputs": dumps(outputs),
        "variables": dumps({"vars": variables}) if variables is not None else "{}",  # sealed; None: the flow's
        "labels": dumps([{"key": k, "value": v} for k, v in execution.labels]),
        "trigger": dumps(execution.trigger) if execution.trigger is not None else None,
        "histories": dumps(execution.histories), "error": execution.error,
        "flow_source": execution.flow_source, "flow_revision": execution.flow_revision,
    }
    insert = dict(row, created_at=iso(execution.start_date), parent_id=execution.parent_id,
                  flow_path=execution.flow_path, original_id=execution.original_id, pid=os.getpid(),
                  host=host_name(), heartbeat=time.time())
    cols = ", ".join(insert)
    updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "id")
    return (f"INSERT INTO executions ({cols}) VALUES ({', '.join(':' + c for c in insert)}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}, pid = excluded.pid, host = excluded.host, "
            "heartbeat = excluded.heartbeat", insert)


class SqliteExecutions(SqlBase):
    """The recorder's writes (one transaction each, or a `Batch` in one) and the reads of executions."""

    #: `histories` with a FAILED entry dated by the parameter appended (Postgres has its own JSON functions)
    APPEND_FAILED = "json_insert(histories, '$[#]', json_object('state', 'FAILED', 'date', ?))"

    def save_execution(self, execution: Execution, inputs: Any, outputs: Any, variables: Any = None) -> None:
        with self.write() as conn:
            conn.execute(*_execution_upsert(execution, inputs, outputs, variables))

    def insert_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        with self.write() as conn:
            conn.execute(INSERT_TASK_RUN, taskrun_row(taskrun, outputs))

    def update_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        with self.write() as conn:
            conn.execute(UPDATE_TASK_RUN, taskrun_row(taskrun, outputs))

    def add_log(self, execution_id: str, task_run_id: str | None, task_id: str | None, attempt: int | None,
                level: str, timestamp: str | None, message: str) -> None:
        with self.write() as conn:
            conn.execute(INSERT_LOG, (execution_id, task_run_id, task_id, attempt, level, timestamp, message))

    def add_metric(self, execution_id: str, task_run_id: str, name: str, kind: str, value: float,
                   tags: dict[str, Any]) -> None:
        with self.write() as conn:
            conn.execute(INSERT_METRIC, (execution_id, task_run_id, name, kind, value, dumps(tags), metric_stamp()))

    def record(self, batch: Batch) -> None:
        with self.write() as conn:
            if batch.execution is not None:
                conn.execute(*_execution_upsert(*batch.execution))
            for write in batch.task_runs.values():
                conn.execute(INSERT_TASK_RUN if write.insert else UPDATE_TASK_RUN, write.row)
            if batch.logs:
                conn.executemany(INSERT_LOG, batch.logs)
            if batch.metrics:
                conn.executemany(INSERT_METRIC, batch.metrics)
            for started in batch.processes:
                insert_process(conn, *started)
            for pgid in batch.ended_processes:
                delete_process(conn, pgid)

    def beat(self, execution_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE executions SET heartbeat = ? WHERE id = ?", (time.time(), execution_id))

    def active_executions(self) -> list[Row]:
        return as_dicts(self.query(f"SELECT id, pid, host, heartbeat FROM executions WHERE state IN {ACTIVE}"))

    def mark_killed(self, execution_ids: list[str], stamp: str, error: str, message: str) -> None:
        with self.write() as conn:
            for execution_id in sorted(execution_ids):  # one order for every reaper: no deadlock between two
                conn.execute(f"UPDATE task_runs SET state = 'KILLED', end_date = COALESCE(end_date, ?) "
                             f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
                found = conn.execute("SELECT histories FROM executions WHERE id = ?", (execution_id,)).fetchone()
                entries = json.loads((found[0] if found else None) or "[]") + [{"state": "KILLED", "date": stamp}]
                killed = conn.execute(
                    f"UPDATE executions SET state = 'KILLED', end_date = ?, histories = ?, error = ? WHERE id = ? "
                    f"AND state IN {ACTIVE}", (stamp, json.dumps(entries), error, execution_id)).rowcount
                if killed:  # another reaper may have marked it first
                    conn.execute("INSERT INTO logs (execution_id, level, timestamp, message) VALUES (?, 'ERROR', ?, ?)",
                                 (execution_id, stamp, message))

    def abandon_execution(self, execution_id: str, error: str, stamp: str) -> bool:
        # Best effort on a damaged DB: the execution row first, in its own transaction, so that a damaged
        # task_runs table or index cannot keep it RUNNING.
        caught: tuple[type[Exception], ...] = (StateError, *self.driver_errors)
        try:
            with self.write() as conn:
                conn.execute(f"UPDATE executions SET state = 'FAILED', end_date = COALESCE(end_date, ?), error = ?, "
                             f"histories = {self.APPEND_FAILED} WHERE id = ? AND state IN {ACTIVE}",
                             (stamp, error, stamp, execution_id))
        except caught:
            return False
        try:
            with self.write() as conn:
                conn.execute(f"UPDATE task_runs SET state = 'FAILED', end_date = COALESCE(end_date, ?) "
                             f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
        except caught:
            pass  # the execution is FAILED; its task runs are shown as they were last recorded
        return True

    def list_executions(self, namespace: str | None, flow_id: str | None, state: str | None,
                        limit: int, *, within: str | None = None, since: str | None = None,
                        until: str | None = None, labels: dict[str, str] | None = None) -> list[Row]:
        sql = "SELECT * FROM executions WHERE 1=1"
        params: list[Any] = []
        for column, value in (("flow_id", flow_id), ("namespace", namespace), ("state", state)):
            if value:
                sql += f" AND {column} = ?"
                params.append(value)
        if within:
            clause, more = namespace_clause(within)
            sql += " AND " + clause
            params += more
        for op, value in ((">=", since), ("<", until)):
            if value:
                sql += f" AND created_at {op} ?"
                params.append(value)
        for key, value in (labels or {}).items():
            clause, more = label_clause(key, value)
            sql += " AND " + clause
            params += more
        params.append(limit)
        return as_dicts(self.query(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", tuple(params)))

    def page_executions(self, query: ExecutionQuery, offset: int, limit: int) -> tuple[list[Row], int]:
        where, params = execution_query_sql(query)
        total = self.query_one(f"SELECT COUNT(*) FROM executions WHERE {where}", tuple(params))
        rows = self.query(f"SELECT {PAGE_COLUMNS} FROM executions WHERE {where} "
                          "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (*params, limit, offset))
        return as_dicts(rows), int(total[0]) if total else 0

    def find_execution(self, id_or_prefix: str) -> Row | None:
        row = self.query_one("SELECT * FROM executions WHERE id = ?", (id_or_prefix,))
        if row is None:
            rows = self.query("SELECT * FROM executions WHERE substr(id, 1, ?) = ? LIMIT 2",
                              (len(id_or_prefix), id_or_prefix))
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

    def log_rows_after(self, execution_id: str, after_id: int, limit: int) -> list[Row]:
        return as_dicts(self.query("SELECT * FROM logs WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?",
                                   (execution_id, after_id, limit)))

    def ended_since(self, namespace: str | None, flow_id: str | None, states: list[str], since: str) -> bool:
        marks = ",".join("?" * len(states))
        return self.query_one(f"SELECT id FROM executions WHERE namespace = ? AND flow_id = ? AND state IN ({marks}) "
                              "AND end_date >= ? LIMIT 1", (namespace, flow_id, *states, since)) is not None


PAGE_COLUMNS = "id, namespace, flow_id, state, start_date, end_date, labels, trigger, created_at"


def execution_query_sql(query: ExecutionQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of `page_executions` in SQL both backends share (`?` marks), exact on both."""
    clauses: list[str] = ["1=1"]
    params: list[Any] = []
    if query.namespace:
        clause, more = namespace_clause(query.namespace)
        clauses.append(clause)
        params += more
    if query.flow_id:
        clauses.append("flow_id = ?")
        params.append(query.flow_id)
    if query.states:
        clauses.append(f"state IN ({', '.join('?' * len(query.states))})")
        params += list(query.states)
    for key, value in query.labels:
        clause, more = label_clause(key, value)
        clauses.append(clause)
        params += more
    if query.started_from:
        clauses.append("COALESCE(start_date, created_at) >= ?")
        params.append(query.started_from)
    if query.started_to:
        clauses.append("COALESCE(start_date, created_at) <= ?")
        params.append(query.started_to)
    return " AND ".join(clauses), params
