"""Reading state back: executions, task runs and logs; heartbeats and finding executions whose process died."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from typing import Any

from flowrun.errors import StateError, UsageError
from flowrun.model.execution import iso, utcnow
from flowrun.state.db import Database
from flowrun.state.processes import stop_orphans

ACTIVE = ("CREATED", "QUEUED", "RUNNING", "RETRYING", "KILLING")
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 60.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def reap_dead(db: Database) -> list[str]:
    """Mark KILLED every active execution whose process is gone (kill -9, reboot).

    First, the task process groups such a process left running on this host are killed, so that nothing
    of a dead execution still runs once it can be restarted.
    """
    stop_orphans(db)
    rows = db.query(f"SELECT id, pid, host, heartbeat FROM executions WHERE state IN {ACTIVE}")
    host, now, dead = socket.gethostname(), time.time(), []
    for row in rows:
        same_host = row["host"] == host
        if (same_host and row["pid"] and not _pid_alive(row["pid"])) or (
                not same_host and (row["heartbeat"] or 0) < now - STALE_SECONDS):
            dead.append(row["id"])
    if not dead:
        return []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    with db.write() as conn:
        for execution_id in dead:
            conn.execute(f"UPDATE task_runs SET state = 'KILLED', end_date = COALESCE(end_date, ?) "
                         f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
            history = conn.execute("SELECT histories FROM executions WHERE id = ?", (execution_id,)).fetchone()[0]
            entries = json.loads(history or "[]") + [{"state": "KILLED", "date": stamp}]
            conn.execute(f"UPDATE executions SET state = 'KILLED', end_date = ?, histories = ?, "
                         f"error = 'the flowrun process running it died' WHERE id = ? AND state IN {ACTIVE}",
                         (stamp, json.dumps(entries), execution_id))
            conn.execute("INSERT INTO logs (execution_id, level, timestamp, message) VALUES (?, 'ERROR', ?, ?)",
                         (execution_id, stamp, "execution marked KILLED: the process running it is gone"))
    return dead


def abandon_execution(db: Database, execution_id: str, error: str) -> bool:
    """Mark FAILED an execution (and its active task runs) whose recording failed; True if none is left active.

    Best effort on a damaged DB: the execution row first, in its own transaction, so that a damaged
    task_runs table or index cannot keep it RUNNING.
    """
    stamp = iso(utcnow())
    try:
        with db.write() as conn:
            conn.execute(f"UPDATE executions SET state = 'FAILED', end_date = COALESCE(end_date, ?), error = ?, "
                         "histories = json_insert(histories, '$[#]', json_object('state', 'FAILED', 'date', ?)) "
                         f"WHERE id = ? AND state IN {ACTIVE}", (stamp, error, stamp, execution_id))
    except (StateError, sqlite3.Error):
        return False
    try:
        with db.write() as conn:
            conn.execute(f"UPDATE task_runs SET state = 'FAILED', end_date = COALESCE(end_date, ?) "
                         f"WHERE execution_id = ? AND state IN {ACTIVE}", (stamp, execution_id))
    except (StateError, sqlite3.Error):
        pass  # the execution is FAILED; its task runs are shown as they were last recorded
    return True


class Heartbeat:
    """Refreshes an execution's heartbeat from a daemon thread while it runs."""

    def __init__(self, db: Database, execution_id: str) -> None:
        self.db, self.execution_id = db, execution_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.db.write() as conn:
                    conn.execute("UPDATE executions SET heartbeat = ? WHERE id = ?", (time.time(), self.execution_id))
            except Exception:  # a missed beat is harmless; the next one retries
                continue


def _execution_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "namespace": row["namespace"], "flowId": row["flow_id"], "state": row["state"],
        "startDate": row["start_date"], "endDate": row["end_date"], "labels": json.loads(row["labels"]),
        "flowRevision": row["flow_revision"],
    }


def list_executions(db: Database, flow: str | None = None, state: str | None = None,
                    limit: int = 20) -> list[dict[str, Any]]:
    sql = "SELECT * FROM executions WHERE 1=1"
    params: list[Any] = []
    if flow:
        namespace, _, flow_id = flow.rpartition("/")
        sql += " AND flow_id = ?"
        params.append(flow_id)
        if namespace:
            sql += " AND namespace = ?"
            params.append(namespace)
    if state:
        sql += " AND state = ?"
        params.append(state.upper())
    sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
    params.append(limit)
    return [_execution_json(row) for row in db.query(sql, tuple(params))]


def find_execution_row(db: Database, execution_id: str) -> Any:
    row = db.query_one("SELECT * FROM executions WHERE id = ?", (execution_id,))
    if row is None:
        rows = db.query("SELECT * FROM executions WHERE id LIKE ? LIMIT 2", (execution_id + "%",))
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise UsageError(f"no execution `{execution_id}`", hint="list them with `flowrun executions list`")
    return row


def get_execution(db: Database, execution_id: str, unseal: Any) -> dict[str, Any]:
    row = find_execution_row(db, execution_id)
    result = _execution_json(row)
    result["inputs"] = unseal(json.loads(row["inputs"]))
    result["outputs"] = unseal(json.loads(row["outputs"]))
    result["trigger"] = json.loads(row["trigger"]) if row["trigger"] else None
    result["parentId"] = row["parent_id"]
    result["error"] = row["error"]
    result["taskRuns"] = [
        {"id": tr["id"], "taskId": tr["task_id"], "parentTaskRunId": tr["parent_task_run_id"], "value": tr["value"],
         "state": tr["state"], "startDate": tr["start_date"], "endDate": tr["end_date"],
         "attempts": json.loads(tr["attempts"]), "outputs": unseal(json.loads(tr["outputs"])), "error": tr["error"]}
        for tr in db.query("SELECT * FROM task_runs WHERE execution_id = ? ORDER BY seq", (row["id"],))
    ]
    return result


def get_logs(db: Database, execution_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    row = find_execution_row(db, execution_id)
    sql, params = "SELECT * FROM logs WHERE execution_id = ?", [row["id"]]
    if task_id:
        sql += " AND task_id = ?"
        params.append(task_id)
    return [dict(r) for r in db.query(sql + " ORDER BY id", tuple(params))]
