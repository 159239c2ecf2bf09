"""The resume dates of timed Pause task runs: recorded when a pause starts, taken once by whoever resumes it."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

from flowrun.state.db import Database
from flowrun.state.store import HEARTBEAT_SECONDS, STALE_SECONDS, _pid_alive

#: a process whose last heartbeat is older than this no longer runs the execution (the beat is every 5 s)
FRESH_SECONDS = 3 * HEARTBEAT_SECONDS


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_delay(db: Database, execution_id: str, task_run_id: str, resume_at: datetime, state: str) -> None:
    """The Pause task run `task_run_id` resumes to `state` at `resume_at` unless resumed earlier."""
    with db.write() as conn:
        conn.execute("INSERT OR REPLACE INTO pause_delays (task_run_id, execution_id, resume_at, state, created_at) "
                     "VALUES (?, ?, ?, ?, ?)", (task_run_id, execution_id, _text(resume_at), state,
                                                _text(datetime.now(UTC))))


def drop_delay(db: Database, task_run_id: str) -> bool:
    """Forget a pause's resume date (it was resumed); False when it was already gone (someone else took it)."""
    with db.write() as conn:
        return conn.execute("DELETE FROM pause_delays WHERE task_run_id = ?", (task_run_id,)).rowcount > 0


def delays_of(db: Database, execution_id: str) -> dict[str, tuple[datetime, str]]:
    """The pending resume dates of an execution's pauses: task run id -> (date, state to resume to)."""
    rows = db.query("SELECT task_run_id, resume_at, state FROM pause_delays WHERE execution_id = ?", (execution_id,))
    return {row["task_run_id"]: (datetime.fromisoformat(row["resume_at"]), row["state"]) for row in rows}


def run_by_live_process(row: Any) -> bool:
    """Whether another flowrun process still runs the execution (`row`: its pid, host and heartbeat)."""
    heartbeat = row["heartbeat"] or 0.0
    if row["host"] != socket.gethostname():
        return heartbeat > time.time() - STALE_SECONDS
    if not row["pid"] or row["pid"] == os.getpid() or not _pid_alive(row["pid"]):
        return False
    return heartbeat > time.time() - FRESH_SECONDS


def take_due(db: Database, now: datetime) -> dict[str, dict[str, str]]:
    """Take (delete) the resume dates that have passed, of PAUSED executions no live process runs.

    One write transaction, so that of concurrent ticks only one resumes a pause. Returns execution id ->
    {task run id: state to resume to}.
    """
    taken: dict[str, dict[str, str]] = {}
    with db.write() as conn:
        rows = conn.execute(
            "SELECT d.task_run_id, d.execution_id, d.state, e.state AS execution_state, e.pid, e.host, e.heartbeat "
            "FROM pause_delays d JOIN executions e ON e.id = d.execution_id WHERE d.resume_at <= ? "
            "ORDER BY d.resume_at", (_text(now),)).fetchall()
        for row in rows:
            if row["execution_state"] != "PAUSED" or run_by_live_process(row):
                continue
            conn.execute("DELETE FROM pause_delays WHERE task_run_id = ?", (row["task_run_id"],))
            taken.setdefault(row["execution_id"], {})[row["task_run_id"]] = row["state"]
    return taken


def give_back(db: Database, execution_id: str, delays: dict[str, str], resume_at: datetime) -> None:
    """Put back resume dates taken by `take_due` when the execution could not be resumed after all."""
    for task_run_id, state in delays.items():
        record_delay(db, execution_id, task_run_id, resume_at, state)


def owner_of(db: Database, execution_id: str) -> Any:
    """The execution's pid, host and heartbeat (for `run_by_live_process`)."""
    return db.query_one("SELECT pid, host, heartbeat FROM executions WHERE id = ?", (execution_id,))
