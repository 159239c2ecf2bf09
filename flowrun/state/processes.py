"""Task process groups recorded per running attempt, and stopping those whose flowrun process died."""

from __future__ import annotations

import os
import socket
import sqlite3
import time

from flowrun.pgroups import is_recorded_group, kill_group, process_alive, start_identity
from flowrun.state.db import Database

#: how long a reaper waits for an orphaned group to go after SIGTERM, before SIGKILL
ORPHAN_GRACE_S = 1.0


def record(db: Database, execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
           pgid: int) -> None:
    """Note that this process runs task process group `pgid` for an attempt, with both start identities."""
    runner = os.getpid()
    with db.write() as conn:
        conn.execute(
            "INSERT INTO task_processes (execution_id, task_run_id, task_id, attempt, host, pgid, leader_identity, "
            "runner_pid, runner_identity, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (execution_id, task_run_id, task_id, attempt, socket.gethostname(), pgid, start_identity(pgid) or "",
             runner, start_identity(runner) or "", time.time()))


def forget(db: Database, pgid: int) -> None:
    """The group `pgid` this process ran has ended."""
    with db.write() as conn:
        conn.execute("DELETE FROM task_processes WHERE host = ? AND pgid = ? AND runner_pid = ?",
                     (socket.gethostname(), pgid, os.getpid()))


def _stop(row: sqlite3.Row) -> bool:
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


def stop_orphans(db: Database) -> list[sqlite3.Row]:
    """Kill the recorded groups on this host whose flowrun process is gone; return those that survived."""
    rows = db.query("SELECT * FROM task_processes WHERE host = ?", (socket.gethostname(),))
    survivors: list[int] = []
    gone: list[int] = []
    for row in rows:
        if process_alive(row["runner_pid"], row["runner_identity"]):
            continue
        (gone if _stop(row) else survivors).append(row["id"])
    if gone:
        with db.write() as conn:
            conn.executemany("DELETE FROM task_processes WHERE id = ?", [(x,) for x in gone])
    return [row for row in rows if row["id"] in survivors]


def live_groups(db: Database, execution_id: str) -> list[sqlite3.Row]:
    """The recorded task process groups of an execution that still run on this host."""
    rows = db.query("SELECT * FROM task_processes WHERE execution_id = ? AND host = ? ORDER BY id",
                    (execution_id, socket.gethostname()))
    return [row for row in rows if is_recorded_group(row["pgid"], row["leader_identity"])]
