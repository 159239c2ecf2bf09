"""Executions over any `StateStore`: reading them back as JSON, heartbeats, and reaping those whose process died."""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from flowrun.errors import UsageError
from flowrun.model.execution import iso, utcnow
from flowrun.state.liveness import (
    ACTIVE,
    DIED,
    ENQUEUED_HOST,
    HEARTBEAT_SECONDS,
    STALE_SECONDS,
    host_name,
    pid_alive,
)
from flowrun.state.processes import stop_orphans
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.state.records import Row

__all__ = ["ACTIVE", "DIED", "Heartbeat", "abandon_execution", "find_execution_row", "get_execution", "get_logs", "list_executions",
           "reap_dead"]

def reap_dead(db: StateStore) -> list[str]:
    """Mark KILLED every active execution whose process is gone (kill -9, reboot).

    First, the task process groups such a process left running on this host are killed, so that nothing
    of a dead execution still runs once it can be restarted.
    """
    stop_orphans(db)
    host, now, dead = host_name(), time.time(), []
    for row in db.active_executions():
        if row["host"] == ENQUEUED_HOST:  # waiting in the broker for a worker: nobody owns it yet
            continue
        same_host = row["host"] == host
        if (same_host and row["pid"] and not pid_alive(row["pid"])) or (
                not same_host and (row["heartbeat"] or 0) < now - STALE_SECONDS):
            dead.append(row["id"])
    if not dead:
        return []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    db.mark_killed(dead, stamp, DIED, "execution marked KILLED: the process running it is gone")
    return dead


def abandon_execution(db: StateStore, execution_id: str, error: str) -> bool:
    """Mark FAILED an execution (and its active task runs) whose recording failed; True if none is left active."""
    return db.abandon_execution(execution_id, error, str(iso(utcnow())))


class Heartbeat:
    """Refreshes an execution's heartbeat while it runs, from the process's one heartbeat thread.

    The thread is started by the first execution of a process and serves every later one: a backfill worker
    or a subflow does not start (and wait for) a thread per execution (~3 ms each, measured under load).
    """

    def __init__(self, db: StateStore, execution_id: str) -> None:
        self.db, self.execution_id = db, execution_id

    def __enter__(self) -> Heartbeat:
        _BEATS.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _BEATS.remove(self)


#: the longest exit waits for a state thread (heartbeat, write-behind) to finish the write it is doing
STOP_WAIT_S = 2.0


class _Beats:
    """The executions of this process that are running, beaten every HEARTBEAT_SECONDS by one daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, Heartbeat] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid = 0

    def add(self, beat: Heartbeat) -> None:
        with self._lock:
            self._running[id(beat)] = beat
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                if self._pid != os.getpid():
                    atexit.register(self.stop)  # before the state's connections close (atexit runs LIFO)
                self._pid = os.getpid()  # a forked child starts its own
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._beat, args=(self._stop,), name="heartbeat",
                                                daemon=True)
                self._thread.start()

    def remove(self, beat: Heartbeat) -> None:
        with self._lock:
            self._running.pop(id(beat), None)

    def stop(self) -> None:
        """End this process's thread, waiting out a beat it is writing (at exit: see `db._close_all`)."""
        with self._lock:
            thread = self._thread if self._pid == os.getpid() else None
            self._stop.set()
        if thread is not None:
            thread.join(STOP_WAIT_S)

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                running = list(self._running.values())
            for beat in running:
                try:
                    beat.db.beat(beat.execution_id)
                except Exception:  # a missed beat is harmless; the next one retries
                    continue


_BEATS = _Beats()


def _execution_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "namespace": row["namespace"], "flowId": row["flow_id"], "state": row["state"],
        "startDate": row["start_date"], "endDate": row["end_date"], "labels": json.loads(row["labels"]),
        "flowRevision": row["flow_revision"],
    }


def list_executions(db: StateStore, flow: str | None = None, state: str | None = None,
                    limit: int = 20, **filters: Any) -> list[dict[str, Any]]:
    """The latest executions, of one flow (`NAMESPACE/FLOW_ID` or a bare flow id) and state when given;
    `filters` are `StateStore.list_executions`'s keywords (within, since, until, labels)."""
    namespace, flow_id = None, None
    if flow:
        namespace, _, flow_id = flow.rpartition("/")
    rows = db.list_executions(namespace or None, flow_id, state.upper() if state else None, limit, **filters)
    return [_execution_json(row) for row in rows]


def find_execution_row(db: StateStore, execution_id: str) -> Row:
    """The execution with this id (or the only one whose id starts with it); a UsageError when none."""
    row = db.find_execution(execution_id)
    if row is None:
        raise UsageError(f"no execution `{execution_id}`", hint="list them with `flowrun executions list`")
    return row


def get_execution(db: StateStore, execution_id: str, unseal: Any) -> dict[str, Any]:
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
         "attempts": json.loads(tr["attempts"]), "outputs": unseal(json.loads(tr["outputs"])), "error": tr["error"],
         "histories": json.loads(tr["histories"] or "[]")}
        for tr in db.task_run_rows(row["id"])
    ]
    return result


def get_logs(db: StateStore, execution_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    return db.log_rows(find_execution_row(db, execution_id)["id"], task_id)
