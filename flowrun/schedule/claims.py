"""Exactly-once schedule claims: one row per (flow, trigger, date), taken with BEGIN IMMEDIATE, dead ones taken over."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from flowrun.state.db import Database
from flowrun.state.store import STALE_SECONDS, _pid_alive

Key = tuple[str, str, str]  # namespace, flow id, trigger id
#: the error reap_dead writes on an execution whose process died
DIED = "the flowrun process running it died"
FINISHED = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"})


@dataclass
class Claim:
    id: int
    key: Key
    date: str
    source: str
    flow_path: str | None
    execution_id: str | None = None
    previous_execution_id: str | None = None
    backfill_id: str | None = None

    @classmethod
    def of(cls, row: sqlite3.Row) -> Claim:
        return cls(row["id"], (row["namespace"], row["flow_id"], row["trigger_id"]), row["date"], row["source"],
                   row["flow_path"], row["execution_id"], row["previous_execution_id"], row["backfill_id"])


@dataclass
class DateStatus:
    """What the state DB knows of one schedule date: its latest execution and whether someone runs it."""

    execution_id: str | None
    state: str | None  # the latest execution's state; CREATED while a live process holds the claim
    backfill_id: str | None = None


def _owner() -> tuple[int, str, float]:
    return os.getpid(), socket.gethostname(), time.time()


def _owner_alive(row: sqlite3.Row, heartbeat: float | None) -> bool:
    if row["claimed_host"] == socket.gethostname():
        return bool(row["claimed_pid"]) and _pid_alive(row["claimed_pid"])
    latest = max(heartbeat or 0.0, row["claimed_at"] or 0.0)
    return latest > time.time() - STALE_SECONDS


def _execution(conn: sqlite3.Connection, execution_id: str | None) -> sqlite3.Row | None:
    if not execution_id:
        return None
    return conn.execute("SELECT state, error, heartbeat FROM executions WHERE id = ?", (execution_id,)).fetchone()


def is_dead(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
    """A running claim whose process is gone before its execution finished (or was reaped as dead)."""
    execution = _execution(conn, row["execution_id"])
    if execution is not None and execution["state"] in FINISHED:
        return execution["state"] == "KILLED" and execution["error"] == DIED
    return not _owner_alive(row, execution["heartbeat"] if execution is not None else None)


def enqueue(conn: sqlite3.Connection, key: Key, dates: list[str], flow_path: str) -> int:
    """Add pending tick claims (inside the caller's write transaction); dates already claimed are left alone."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path) "
        "VALUES (?, ?, ?, ?, 'pending', 'tick', ?)", [(*key, date, flow_path) for date in dates])
    return conn.total_changes - before


def _take(conn: sqlite3.Connection, row: sqlite3.Row, **changes: Any) -> Claim:
    pid, host, now = _owner()
    values = {"status": "running", "claimed_pid": pid, "claimed_host": host, "claimed_at": now, **changes}
    sets = ", ".join(f"{k} = :{k}" for k in values)
    conn.execute(f"UPDATE schedule_claims SET {sets} WHERE id = :row_id", {**values, "row_id": row["id"]})
    return Claim.of(conn.execute("SELECT * FROM schedule_claims WHERE id = ?", (row["id"],)).fetchone())


def take_next(db: Database) -> Claim | None:
    """Claim the earliest pending tick date, or take over a dead one. None when nothing is left."""
    with db.write() as conn:
        row = conn.execute("SELECT * FROM schedule_claims WHERE status = 'pending' ORDER BY date, id LIMIT 1").fetchone()
        if row is not None:
            return _take(conn, row)
        for row in conn.execute("SELECT * FROM schedule_claims WHERE status = 'running' AND source = 'tick' "
                                "ORDER BY date, id").fetchall():
            if not is_dead(conn, row):
                continue
            execution = _execution(conn, row["execution_id"])
            if execution is not None and execution["state"] in FINISHED and execution["error"] != DIED:
                conn.execute("UPDATE schedule_claims SET status = 'done' WHERE id = ?", (row["id"],))
                continue
            return _take(conn, row, execution_id=None)
    return None


def take_date(db: Database, key: Key, date: str, expected: str | None, source: str, flow_path: str,
              backfill_id: str | None = None) -> Claim | None:
    """Claim one date for a run, if its latest execution is still `expected` (None: no execution yet)."""
    with db.write() as conn:
        row = conn.execute("SELECT * FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND trigger_id = ? "
                           "AND date = ?", (*key, date)).fetchone()
        if row is None:
            if expected is not None:
                return None
            pid, host, now = _owner()
            conn.execute(
                "INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path, "
                "backfill_id, claimed_pid, claimed_host, claimed_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (*key, date, source, flow_path, backfill_id, pid, host, now))
            return Claim.of(conn.execute("SELECT * FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND "
                                         "trigger_id = ? AND date = ?", (*key, date)).fetchone())
        status = _status(conn, row)
        if status.execution_id != expected or status.state == "CREATED":
            return None
        return _take(conn, row, source=source, backfill_id=backfill_id, flow_path=flow_path, execution_id=None,
                     previous_execution_id=status.execution_id)


def link(db: Database, claim: Claim, execution_id: str) -> None:
    """Record the execution that runs a claim (before it starts, so others see the date as taken)."""
    claim.execution_id = execution_id
    with db.write() as conn:
        conn.execute("UPDATE schedule_claims SET execution_id = ? WHERE id = ?", (execution_id, claim.id))


def finish(db: Database, claim: Claim) -> None:
    with db.write() as conn:
        conn.execute("UPDATE schedule_claims SET status = 'done' WHERE id = ?", (claim.id,))


def release(db: Database, claim: Claim, requeue: bool = False) -> None:
    """Give a claim back as if it had not run: pending again (tick), or the previous execution is the latest."""
    with db.write() as conn:
        if requeue:
            conn.execute("UPDATE schedule_claims SET status = 'pending', execution_id = NULL, claimed_pid = NULL "
                         "WHERE id = ?", (claim.id,))
        elif claim.previous_execution_id is None:
            conn.execute("DELETE FROM schedule_claims WHERE id = ?", (claim.id,))
        else:
            conn.execute("UPDATE schedule_claims SET status = 'done', execution_id = ? WHERE id = ?",
                         (claim.previous_execution_id, claim.id))


def skip(db: Database, claim: Claim) -> None:
    with db.write() as conn:
        conn.execute("UPDATE schedule_claims SET status = 'skipped' WHERE id = ?", (claim.id,))


def record_manual(db: Database, key: Key, date: str, execution_id: str, flow_path: str) -> None:
    """A manual `run --trigger --date` becomes the latest execution of that date (it always runs)."""
    pid, host, now = _owner()
    with db.write() as conn:
        row = conn.execute("SELECT id, execution_id FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND "
                           "trigger_id = ? AND date = ?", (*key, date)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path, "
                "execution_id, claimed_pid, claimed_host, claimed_at) VALUES (?, ?, ?, ?, 'running', 'manual', ?, ?, "
                "?, ?, ?)", (*key, date, flow_path, execution_id, pid, host, now))
        else:
            conn.execute("UPDATE schedule_claims SET status = 'running', source = 'manual', execution_id = ?, "
                         "previous_execution_id = ?, backfill_id = NULL, claimed_pid = ?, claimed_host = ?, "
                         "claimed_at = ? WHERE id = ?", (execution_id, row["execution_id"], pid, host, now, row["id"]))


def _status(conn: sqlite3.Connection, row: sqlite3.Row) -> DateStatus:
    execution = _execution(conn, row["execution_id"])
    if execution is not None:
        return DateStatus(row["execution_id"], execution["state"], row["backfill_id"])
    if row["status"] == "pending" or (row["status"] == "running" and not is_dead(conn, row)):
        return DateStatus(row["execution_id"], "CREATED", row["backfill_id"])
    previous = _execution(conn, row["previous_execution_id"])
    if previous is not None:
        return DateStatus(row["previous_execution_id"], previous["state"])
    return DateStatus(None, None)


def date_statuses(db: Database, key: Key) -> dict[str, DateStatus]:
    """Every known date of a trigger with its latest execution."""
    conn = db.conn
    rows = conn.execute("SELECT * FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
                        key).fetchall()
    return {row["date"]: _status(conn, row) for row in rows}


def last_run(db: Database, key: Key) -> dict[str, Any] | None:
    """The latest date that ran for a trigger, with its execution state."""
    row = db.query_one("SELECT c.date, c.execution_id, e.state FROM schedule_claims c LEFT JOIN executions e "
                       "ON e.id = c.execution_id WHERE c.namespace = ? AND c.flow_id = ? AND c.trigger_id = ? AND "
                       "c.execution_id IS NOT NULL ORDER BY c.date DESC LIMIT 1", key)
    return dict(row) if row is not None else None
