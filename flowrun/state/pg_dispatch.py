"""The Postgres side of remote attempts: single-statement claims and results, the result's notification, and
the versions of task-run rows.

A claim and a result are each one autocommit statement (atomic on their own, without the round trips of
BEGIN and COMMIT); the result's statement also sends the NOTIFY that wakes the orchestrator waiting for it
(`flowrun.state.pg_signals`), delivered once the result is committed and carrying it when it fits in a
payload. A worker reads the md5 of each task-run row of an execution (`task_run_versions`) and fetches again
only the rows that changed since its last attempt of it.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from flowrun.state.dispatch import CLAIM, SqliteDispatch
from flowrun.state.pg_signals import CHANNEL, result_payload
from flowrun.state.remote_waits import AttemptSignal

if TYPE_CHECKING:
    from flowrun.state.pg_signals import AttemptSignals

FINISH = ("WITH done AS (UPDATE attempt_claims SET status = 'done', result = ?, heartbeat = ? WHERE task_run_id = ? "
          "AND attempt = ? AND worker = ? AND status = 'running' RETURNING task_run_id) "
          f"SELECT pg_notify('{CHANNEL}', ?) FROM done")


class PgDispatch(SqliteDispatch):
    """`attempt_claims` on Postgres: the store sets `_signals`, its listening side."""

    _signals: AttemptSignals
    conn: Any

    def claim_attempt(self, execution_id: str, task_run_id: str, attempt: int, worker: str) -> bool:
        now = time.time()
        return bool(self.conn.execute(CLAIM, (task_run_id, attempt, execution_id, worker, now, now)).rowcount == 1)

    def finish_attempt(self, task_run_id: str, attempt: int, worker: str, result: str) -> bool:
        params = (result, time.time(), task_run_id, attempt, worker, result_payload(task_run_id, attempt, worker, result))
        return len(self.conn.execute(FINISH, params).fetchall()) == 1

    def task_run_versions(self, execution_id: str) -> dict[str, str] | None:
        rows = self.conn.execute("SELECT id, CAST(xmin AS text) FROM task_runs WHERE execution_id = ? ORDER BY seq",
                                 (execution_id,)).fetchall()
        return {row[0]: row[1] for row in rows}

    def attempt_waiting(self, task_run_id: str, attempt: int) -> AbstractContextManager[AttemptSignal | None]:
        return self._signals.waiting(task_run_id, attempt)
