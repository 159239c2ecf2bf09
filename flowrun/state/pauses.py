"""The resume dates of timed Pause task runs: recorded when a pause starts, taken once by whoever resumes it."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowrun.state.db import Database
from flowrun.state.store import HEARTBEAT_SECONDS, STALE_SECONDS, _pid_alive


@dataclass(frozen=True)
class Due:
    """A pause to resume now: the state it resumes to, and the `onResume` inputs asked for (sealed), if any."""

    state: str
    inputs: Any = None


#: a process whose last heartbeat is older than this no longer runs the execution (the beat is every 5 s)
FRESH_SECONDS = 3 * HEARTBEAT_SECONDS


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_delay(db: Database, execution_id: str, task_run_id: str, resume_at: datetime, state: str,
                 inputs: Any = None) -> None:
    """The Pause task run `task_run_id` resumes to `state` at `resume_at` (with `onResume` inputs, sealed by the
    caller) unless resumed earlier."""
    with db.write() as conn:
        conn.execute("INSERT OR REPLACE INTO pause_delays (task_run_id, execution_id, resume_at, state, inputs, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (task_run_id, execution_id, _text(resume_at), state,
                      json.dumps(inputs) if inputs is not None else None, _text(datetime.now(UTC))))


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


def take_due(db: Database, now: datetime) -> dict[str, dict[str, Due]]:
    """Take (delete) the resume dates that have passed, of PAUSED executions no live process runs.

    One write transaction, so that of concurrent ticks only one resumes a pause. Returns execution id ->
    {task run id: how it resumes}.
    """
    taken: dict[str, dict[str, Due]] = {}
    with db.write() as conn:
        rows = conn.execute(
            "SELECT d.task_run_id, d.execution_id, d.state, d.inputs, e.state AS execution_state, e.pid, e.host, "
            "e.heartbeat "
            "FROM pause_delays d JOIN executions e ON e.id = d.execution_id WHERE d.resume_at <= ? "
            "ORDER BY d.resume_at", (_text(now),)).fetchall()
        for row in rows:
            if row["execution_state"] != "PAUSED" or run_by_live_process(row):
                continue
            conn.execute("DELETE FROM pause_delays WHERE task_run_id = ?", (row["task_run_id"],))
            inputs = json.loads(row["inputs"]) if row["inputs"] else None
            taken.setdefault(row["execution_id"], {})[row["task_run_id"]] = Due(row["state"], inputs)
    return taken


def give_back(db: Database, execution_id: str, delays: dict[str, Due], resume_at: datetime) -> None:
    """Put back resume dates taken by `take_due` when the execution could not be resumed after all."""
    for task_run_id, due in delays.items():
        record_delay(db, execution_id, task_run_id, resume_at, due.state, due.inputs)


def paused_pause_runs(db: Database, execution_id: str) -> list[Any]:
    """The execution's PAUSED task runs (id, task id, type), in order (the caller keeps the Pause ones)."""
    return db.query("SELECT id, task_id, task_type FROM task_runs WHERE execution_id = ? AND state = 'PAUSED' "
                    "ORDER BY seq", (execution_id,))


def latest_paused(db: Database, namespace: str, flow_id: str) -> str | None:
    """The id of the flow's most recent PAUSED execution."""
    row = db.query_one("SELECT id FROM executions WHERE namespace = ? AND flow_id = ? AND state = 'PAUSED' "
                       "ORDER BY created_at DESC, rowid DESC LIMIT 1", (namespace, flow_id))
    return row["id"] if row is not None else None


def owner_of(db: Database, execution_id: str) -> Any:
    """The execution's pid, host and heartbeat (for `run_by_live_process`)."""
    return db.query_one("SELECT pid, host, heartbeat FROM executions WHERE id = ?", (execution_id,))
