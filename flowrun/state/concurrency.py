"""Flow `concurrency` limits across processes: admit, queue (FIFO) or refuse an execution via the state store."""

from __future__ import annotations

import json
import os
import threading
import time

from flowrun.model.execution import Execution, iso, utcnow
from flowrun.state.liveness import host_name
from flowrun.state.protocol import StateStore
from flowrun.state.sqlbase import Connection, SqlBase
from flowrun.state.store import reap_dead

BUSY = ("RUNNING", "PAUSED", "RETRYING", "KILLING")
POLL_SECONDS = 0.2
OUTCOMES = {"QUEUE": "QUEUED", "CANCEL": "CANCELLED", "FAIL": "FAILED"}


def _insert(conn: Connection, execution: Execution, state: str) -> None:
    execution.set_state(state)
    conn.execute(
        "INSERT INTO executions (id, namespace, flow_id, state, created_at, start_date, labels, histories, pid, "
        "host, heartbeat, parent_id, original_id, flow_path, flow_source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (execution.id, execution.namespace, execution.flow_id, state, iso(utcnow()), iso(execution.start_date),
         json.dumps([{"key": k, "value": v} for k, v in execution.labels]), json.dumps(execution.histories),
         os.getpid(), host_name(), time.time(), execution.parent_id, execution.original_id,
         execution.flow_path, execution.flow_source))
    conn.execute("UPDATE executions SET state = ?, histories = ? WHERE id = ?",
                 (state, json.dumps(execution.histories), execution.id))


def _busy(conn: Connection, execution: Execution) -> int:
    placeholders = ",".join("?" * len(BUSY))
    row = conn.execute(
        f"SELECT COUNT(*) FROM executions WHERE namespace = ? AND flow_id = ? AND state IN ({placeholders}) "
        "AND id != ?", (execution.namespace, execution.flow_id, *BUSY, execution.id)).fetchone()
    return int(row[0])


class SqliteConcurrency(SqlBase):
    """Counting the busy executions of a flow and recording the new one happen under one lock of the flow."""

    def admit_execution(self, execution: Execution, limit: int, behavior: str) -> str:
        with self.write() as conn:
            self.lock(conn, "flow", execution.namespace, execution.flow_id)
            outcome = "RUNNING" if _busy(conn, execution) < limit else OUTCOMES[behavior]
            _insert(conn, execution, outcome)
            return outcome

    def start_if_next(self, execution: Execution, limit: int) -> bool:
        with self.write() as conn:
            self.lock(conn, "flow", execution.namespace, execution.flow_id)
            first = conn.execute(
                "SELECT id FROM executions WHERE namespace = ? AND flow_id = ? AND state = 'QUEUED' "
                "ORDER BY created_at, rowid LIMIT 1", (execution.namespace, execution.flow_id)).fetchone()
            if first and first[0] == execution.id and _busy(conn, execution) < limit:
                conn.execute("UPDATE executions SET state = 'RUNNING' WHERE id = ?", (execution.id,))
                return True
        return False


def admit(db: StateStore, execution: Execution, limit: int, behavior: str) -> str:
    """Record the execution and decide: RUNNING now, QUEUED, CANCELLED or FAILED (the limit is reached)."""
    reap_dead(db)
    return db.admit_execution(execution, limit, behavior)


def wait_for_slot(db: StateStore, execution: Execution, limit: int, stop: threading.Event) -> bool:
    """Wait in this process until this QUEUED execution is the oldest queued one and a slot is free."""
    while not stop.wait(POLL_SECONDS):
        reap_dead(db)
        if db.start_if_next(execution, limit):
            return True
    return False
