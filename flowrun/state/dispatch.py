"""SQLite rows of remote attempts (scale-out): each (task run, attempt) claimed once, its heartbeat and result.

An attempt sent to a Celery worker is claimed with `INSERT ... ON CONFLICT DO NOTHING`: a redelivered
message finds the row taken and runs nothing. Its end is written only while the row is still `running` and
held by the same worker, so a worker that was declared lost (or an attempt that was cancelled) can never
record a result after the fact. Executions handed to the broker keep no owner process until a worker takes
them (`take_execution`, one UPDATE guarded by their state).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from flowrun.state.liveness import ENQUEUED_HOST, host_name
from flowrun.state.remote_waits import RemoteWaits
from flowrun.state.sqlbase import as_dict

if TYPE_CHECKING:
    from flowrun.state.records import Row

CLAIM = ("INSERT INTO attempt_claims (task_run_id, attempt, execution_id, status, worker, heartbeat, claimed_at) "
         "VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT (task_run_id, attempt) DO NOTHING")
SETTLE = ("INSERT INTO attempt_claims (task_run_id, attempt, execution_id, status, claimed_at) "
          "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_run_id, attempt) DO UPDATE SET status = excluded.status "
          "WHERE attempt_claims.status = 'running'")
SETTLE_STALE = ("UPDATE attempt_claims SET status = ? WHERE task_run_id = ? AND attempt = ? AND status = 'running' "
                "AND heartbeat < ?")


class SqliteDispatch(RemoteWaits):
    """The `attempt_claims` table, and the hand-over of whole executions to workers."""

    def claim_attempt(self, execution_id: str, task_run_id: str, attempt: int, worker: str) -> bool:
        now = time.time()
        with self.write() as conn:
            return conn.execute(CLAIM, (task_run_id, attempt, execution_id, worker, now, now)).rowcount == 1

    def beat_attempt(self, task_run_id: str, attempt: int, worker: str) -> str | None:
        with self.write() as conn:
            conn.execute("UPDATE attempt_claims SET heartbeat = ? WHERE task_run_id = ? AND attempt = ? "
                         "AND worker = ? AND status = 'running'", (time.time(), task_run_id, attempt, worker))
            row = conn.execute("SELECT status FROM attempt_claims WHERE task_run_id = ? AND attempt = ?",
                               (task_run_id, attempt)).fetchone()
        return row[0] if row is not None else None

    def finish_attempt(self, task_run_id: str, attempt: int, worker: str, result: str) -> bool:
        with self.write() as conn:
            return conn.execute("UPDATE attempt_claims SET status = 'done', result = ?, heartbeat = ? "
                                "WHERE task_run_id = ? AND attempt = ? AND worker = ? AND status = 'running'",
                                (result, time.time(), task_run_id, attempt, worker)).rowcount == 1

    def settle_attempt(self, execution_id: str, task_run_id: str, attempt: int, status: str,
                       stale_before: float | None = None) -> bool:
        with self.write() as conn:
            if stale_before is not None:
                return conn.execute(SETTLE_STALE, (status, task_run_id, attempt, stale_before)).rowcount == 1
            return conn.execute(SETTLE, (task_run_id, attempt, execution_id, status, time.time())).rowcount == 1

    def attempt_claim(self, task_run_id: str, attempt: int) -> Row | None:
        return as_dict(self.query_one("SELECT * FROM attempt_claims WHERE task_run_id = ? AND attempt = ?",
                                      (task_run_id, attempt)))

    def hand_over_execution(self, execution_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE executions SET pid = NULL, host = ?, heartbeat = NULL WHERE id = ?",
                         (ENQUEUED_HOST, execution_id))

    def take_execution(self, execution_id: str) -> bool:
        with self.write() as conn:
            return conn.execute("UPDATE executions SET pid = ?, host = ?, heartbeat = ? WHERE id = ? AND host = ? "
                                "AND state = 'CREATED'", (os.getpid(), host_name(), time.time(),
                                                          execution_id, ENQUEUED_HOST)).rowcount == 1

    def withdraw_execution(self, execution_id: str, stamp: str, error: str) -> bool:
        with self.write() as conn:
            return conn.execute("UPDATE executions SET state = 'KILLED', end_date = ?, error = ? WHERE id = ? "
                                "AND host = ? AND state = 'CREATED'",
                                (stamp, error, execution_id, ENQUEUED_HOST)).rowcount == 1
