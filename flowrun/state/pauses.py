"""Rows of timed Pause task runs: the resume date recorded when a pause starts, taken once by whoever resumes
it; and whether another process still runs an execution."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowrun.state.liveness import HEARTBEAT_SECONDS, STALE_SECONDS, host_name, pid_alive
from flowrun.state.sqlbase import SqlBase, as_dict, as_dicts

if TYPE_CHECKING:
    from flowrun.state.records import Due, Row

#: a process whose last heartbeat is older than this no longer runs the execution (the beat is every 5 s)
FRESH_SECONDS = 3 * HEARTBEAT_SECONDS


def moment_text(moment: datetime) -> str:
    """The stored form of a resume date (UTC, microseconds: it sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def run_by_live_process(row: Row) -> bool:
    """Whether another flowrun process still runs the execution (`row`: its pid, host and heartbeat)."""
    heartbeat = row["heartbeat"] or 0.0
    if row["host"] != host_name():
        return bool(heartbeat > time.time() - STALE_SECONDS)
    if not row["pid"] or row["pid"] == os.getpid() or not pid_alive(row["pid"]):
        return False
    return bool(heartbeat > time.time() - FRESH_SECONDS)


class SqlitePauses(SqlBase):
    """The `pause_delays` table: one row per timed (or Resume-task-resumed) PAUSED Pause task run."""

    def record_pause_delay(self, execution_id: str, task_run_id: str, resume_at: datetime, state: str,
                           inputs: Any = None) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO pause_delays (task_run_id, execution_id, resume_at, state, inputs, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_run_id) DO UPDATE SET execution_id = "
                         "excluded.execution_id, resume_at = excluded.resume_at, state = excluded.state, "
                         "inputs = excluded.inputs, created_at = excluded.created_at",
                         (task_run_id, execution_id, moment_text(resume_at), state,
                          json.dumps(inputs) if inputs is not None else None, moment_text(datetime.now(UTC))))

    def drop_pause_delay(self, task_run_id: str) -> bool:
        with self.write() as conn:
            return conn.execute("DELETE FROM pause_delays WHERE task_run_id = ?", (task_run_id,)).rowcount > 0

    def take_due_pauses(self, now: datetime, busy: Callable[[Row], bool]) -> dict[str, dict[str, Due]]:
        from flowrun.state.records import Due

        with self.write() as conn:
            rows = conn.execute(
                "SELECT d.task_run_id, d.execution_id, d.state, d.inputs, e.state AS execution_state, e.pid, "
                "e.host, e.heartbeat FROM pause_delays d JOIN executions e ON e.id = d.execution_id "
                "WHERE d.resume_at <= ? ORDER BY d.resume_at", (moment_text(now),)).fetchall()
            taken: dict[str, dict[str, Due]] = {}
            for row in rows:
                if row["execution_state"] != "PAUSED" or busy(dict(row)):
                    continue
                if not conn.execute("DELETE FROM pause_delays WHERE task_run_id = ?", (row["task_run_id"],)).rowcount:
                    continue  # another process took it first
                inputs = json.loads(row["inputs"]) if row["inputs"] else None
                taken.setdefault(row["execution_id"], {})[row["task_run_id"]] = Due(row["state"], inputs)
        return taken

    def paused_task_runs(self, execution_id: str) -> list[Row]:
        return as_dicts(self.query("SELECT id, task_id, task_type FROM task_runs WHERE execution_id = ? AND "
                                   "state = 'PAUSED' ORDER BY seq", (execution_id,)))

    def latest_paused_execution(self, namespace: str, flow_id: str) -> str | None:
        row = self.query_one("SELECT id FROM executions WHERE namespace = ? AND flow_id = ? AND state = 'PAUSED' "
                             "ORDER BY created_at DESC, rowid DESC LIMIT 1", (namespace, flow_id))
        return row["id"] if row is not None else None

    def execution_owner(self, execution_id: str) -> Row | None:
        return as_dict(self.query_one("SELECT pid, host, heartbeat FROM executions WHERE id = ?", (execution_id,)))
