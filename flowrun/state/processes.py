"""Task process groups recorded per running attempt, and stopping those whose flowrun process died."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from flowrun.state.liveness import host_name
from flowrun.state.pgroups import is_recorded_group, kill_group, own_identity, process_alive, start_identity
from flowrun.state.protocol import StateStore
from flowrun.state.sqlbase import SqlBase, as_dicts

if TYPE_CHECKING:
    from flowrun.state.records import Row

#: how long a reaper waits for an orphaned group to go after SIGTERM, before SIGKILL
ORPHAN_GRACE_S = 1.0


def insert_process(conn: Any, execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
                   pgid: int) -> None:
    """Record task process group `pgid`, started by this process, in the open transaction `conn`."""
    conn.execute(
        "INSERT INTO task_processes (execution_id, task_run_id, task_id, attempt, host, pgid, "
        "leader_identity, runner_pid, runner_identity, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (execution_id, task_run_id, task_id, attempt, host_name(), pgid,
         start_identity(pgid) or "", os.getpid(), own_identity() or "", time.time()))


def delete_process(conn: Any, pgid: int) -> None:
    """Forget task process group `pgid` (it ended) in the open transaction `conn`."""
    conn.execute("DELETE FROM task_processes WHERE host = ? AND pgid = ? AND runner_pid = ?",
                 (host_name(), pgid, os.getpid()))


class SqliteProcesses(SqlBase):
    """The `task_processes` table: one row per live task process group, keyed by host and runner pid."""

    def record_process(self, execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
                       pgid: int) -> None:
        with self.write() as conn:
            insert_process(conn, execution_id, task_run_id, task_id, attempt, pgid)

    def forget_process(self, pgid: int) -> None:
        with self.write() as conn:
            delete_process(conn, pgid)

    def process_rows(self, execution_id: str | None = None) -> list[Row]:
        if execution_id is None:
            return as_dicts(self.query("SELECT * FROM task_processes WHERE host = ? ORDER BY id",
                                       (host_name(),)))
        return as_dicts(self.query("SELECT * FROM task_processes WHERE execution_id = ? AND host = ? ORDER BY id",
                                   (execution_id, host_name())))

    def delete_processes(self, ids: list[int]) -> None:
        with self.write() as conn:
            conn.executemany("DELETE FROM task_processes WHERE id = ?", [(x,) for x in ids])


def _stop(row: Row) -> bool:
    """Stop a recorded group if it still runs; True when it is gone (or was never the recorded one)."""
    if not is_recorded_group(row["pgid"], row["leader_identity"]):
        return True
    kill_group(row["pgid"], grace_s=ORPHAN_GRACE_S)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if not is_recorded_group(row["pgid"], row["leader_identity"]):
            return True
        time.sleep(0.02)
    return False


def stop_orphans(db: StateStore) -> list[Row]:
    """Kill the recorded groups on this host whose flowrun process is gone; return those that survived."""
    rows = db.process_rows()
    survivors: list[int] = []
    gone: list[int] = []
    for row in rows:
        if process_alive(row["runner_pid"], row["runner_identity"]):
            continue
        (gone if _stop(row) else survivors).append(row["id"])
    if gone:
        db.delete_processes(gone)
    return [row for row in rows if row["id"] in survivors]


def live_groups(db: StateStore, execution_id: str) -> list[Row]:
    """The recorded task process groups of an execution that still run on this host."""
    return [row for row in db.process_rows(execution_id) if is_recorded_group(row["pgid"], row["leader_identity"])]
