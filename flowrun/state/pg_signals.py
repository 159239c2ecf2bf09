"""Postgres LISTEN/NOTIFY for remote attempts: a worker's result wakes the orchestrator thread waiting for it.

A worker's `finish_attempt` sends `pg_notify('flowrun_attempts', '<task run id>/<attempt>\n{worker, result}')`
in its statement (`flowrun.state.pg_dispatch`), so the notification arrives once the result is committed and
carries what was committed (only the key when the result is too long for a payload). Each orchestrating
process keeps one listening connection (opened on the first wait, LISTEN issued before it returns, so before
the attempt is sent) and a thread that notifies the waiting attempt's signal. A waiter wakes on it or after
its poll interval, whichever comes first, and reads the row unless the notification carried it; a lost
notification only costs a poll.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from flowrun.state.remote_waits import AttemptSignal

if TYPE_CHECKING:
    from flowrun.state.records import Row

CHANNEL = "flowrun_attempts"
#: how often the listening thread checks that its store is still open
TICK = 1.0


#: a NOTIFY payload must stay under 8000 bytes: a longer result is left for the waiter to read from its row
MAX_PAYLOAD = 7900


def attempt_key(task_run_id: str, attempt: int) -> str:
    return f"{task_run_id}/{attempt}"


def result_payload(task_run_id: str, attempt: int, worker: str, result: str) -> str:
    """`<key>` and, when it fits, a newline and the row's `worker` and `result` as JSON."""
    key = attempt_key(task_run_id, attempt)
    payload = f"{key}\n{json.dumps({'worker': worker, 'result': result})}"
    return payload if len(payload.encode("utf-8")) <= MAX_PAYLOAD else key


def _parsed(payload: str) -> tuple[str, Row | None]:
    key, _, body = payload.partition("\n")
    return key, ({"status": "done", **json.loads(body)} if body else None)


class AttemptSignals:
    """The process's listening connection of one Postgres state and the events of the attempts waited for."""

    def __init__(self, url: str, connect_timeout: int) -> None:
        self.url, self.connect_timeout = url, connect_timeout
        self._lock = threading.Lock()
        self._waiting: dict[str, AttemptSignal] = {}
        self._conn: psycopg.Connection | None = None

    @contextmanager
    def waiting(self, task_run_id: str, attempt: int) -> Iterator[AttemptSignal]:
        """The signal notified once this attempt's result is committed; registered (and listened for) on entry."""
        key, signal = attempt_key(task_run_id, attempt), AttemptSignal()
        with self._lock:
            self._waiting[key] = signal
        self._listen()
        try:
            yield signal
        finally:
            with self._lock:
                self._waiting.pop(key, None)

    def close(self) -> None:
        """Stop listening: the thread closes its connection within `TICK` seconds."""
        with self._lock:
            self._conn = None

    def _listen(self) -> None:
        """Open the listening connection unless it is open; a failure leaves the waiters to their polling."""
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                return
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            return
        with self._lock:
            if self._conn is not None and not self._conn.closed:  # another thread was quicker
                conn.close()
                return
            self._conn = conn
        threading.Thread(target=self._run, args=(conn,), name="attempt-signals", daemon=True).start()

    def _run(self, conn: psycopg.Connection[Any]) -> None:
        try:
            while self._conn is conn:
                for note in conn.notifies(timeout=TICK):
                    key, row = _parsed(note.payload)
                    with self._lock:
                        signal = self._waiting.get(key)
                    if signal is not None:
                        signal.notify(row)
        except psycopg.Error:  # closed, or the server went away: the next wait opens a new connection
            pass
        finally:
            with self._lock:
                if self._conn is conn:
                    self._conn = None
            conn.close()
