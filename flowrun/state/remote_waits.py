"""Waiting for a remote attempt's result, and a worker's re-reads of task runs: what SQLite offers of both.

`AttemptSignal` is what an orchestrator thread holds while an attempt runs on a worker: notified once the
result is recorded, where the store notifies. SQLite notifies nobody (its waiters poll the row) and keeps no
row versions (a worker reads every task-run row and compares it with what it parsed before); the Postgres
store does both (`flowrun.state.pg_dispatch`, `flowrun.state.pg_signals`).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from flowrun.state.sqlbase import SqlBase, as_dicts

if TYPE_CHECKING:
    from flowrun.state.records import Row


class AttemptSignal:
    """What waits for one attempt's result: `wait(timeout)` returns once the result is recorded (where the store
    notifies), and `row` is then the claim's row as the notification carried it (`status`, `worker`,
    `result`), or None when it carried only the news (read the row)."""

    def __init__(self) -> None:
        self.row: Row | None = None
        self._event = threading.Event()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def notify(self, row: Row | None) -> None:
        self.row = row
        self._event.set()


class RemoteWaits(SqlBase):
    """The SQLite side: no notification, no row versions."""

    def task_run_versions(self, execution_id: str) -> dict[str, str] | None:
        """None: SQLite rows carry no version (a worker reads them all and compares them)."""
        return None

    def task_run_rows_by_id(self, execution_id: str, ids: list[str]) -> list[Row]:
        marks = ",".join("?" * len(ids))
        return as_dicts(self.query(f"SELECT * FROM task_runs WHERE execution_id = ? AND id IN ({marks})",
                                   (execution_id, *ids)))

    def attempt_waiting(self, task_run_id: str, attempt: int) -> AbstractContextManager[AttemptSignal | None]:
        """None: SQLite notifies nobody, its waiters poll the row."""
        return nullcontext(None)
