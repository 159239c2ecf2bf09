"""A Celery worker's heartbeats: one thread beats every attempt the worker runs, and stops the settled ones.

Each attempt is beaten every `heartbeat` seconds while it runs. Once its orchestrator settled it (lost,
cancelled), or its execution ended (its orchestrating process died and was reaped KILLED), the attempt's
cancel event is set and it stops. The thread starts with the first attempt and stays: an attempt costs no
thread start of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flowrun.model.execution import TERMINAL
from flowrun.state.protocol import StateStore


@dataclass
class Beat:
    """One running attempt; `cancel` is its context's event, set once the attempt must stop."""

    execution_id: str
    task_run_id: str
    attempt: int
    cancel: threading.Event | None = None


class Beats:
    """The beats of one worker (its state store, its name, its heartbeat interval)."""

    def __init__(self, db: StateStore, worker: str, heartbeat: float) -> None:
        self.db, self.worker, self.heartbeat = db, worker, heartbeat
        self._running: dict[int, Beat] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def beating(self, execution_id: str, task_run_id: str, attempt: int) -> Iterator[Beat]:
        beat = Beat(execution_id, task_run_id, attempt)
        with self._lock:
            self._running[id(beat)] = beat
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="attempt-beats", daemon=True)
                self._thread.start()
        try:
            yield beat
        finally:
            with self._lock:
                self._running.pop(id(beat), None)

    def _run(self) -> None:
        while True:
            time.sleep(self.heartbeat)
            with self._lock:
                running = list(self._running.values())
            for beat in running:
                self._beat(beat)

    def _beat(self, beat: Beat) -> None:
        try:
            status = self.db.beat_attempt(beat.task_run_id, beat.attempt, self.worker)
            execution = self.db.find_execution(beat.execution_id)
        except Exception:  # a missed beat is harmless while it stays shorter than lostAfter
            return
        ended = execution is None or execution["state"] in TERMINAL
        if (status != "running" or ended) and beat.cancel is not None:
            beat.cancel.set()
