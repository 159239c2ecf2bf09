"""The write-behind thread: writes the events recorders hold back once the oldest of them is FLUSH_AFTER old."""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
from typing import Protocol

#: the longest a held-back event (a RUNNING state, a log line, a metric) waits before it is written, when no
#: event that must be durable (an attempt's end, an execution's state) writes it sooner
FLUSH_AFTER = 0.1

#: the longest exit waits for the thread to write what is held
STOP_WAIT_S = 2.0


class Holder(Protocol):
    def flush_if_due(self, now: float) -> float | None:
        """Write what it holds if it is due; the monotonic time to look again, or None once it holds nothing
        (then it has left the flusher, with `Flusher.leave` called under its own lock)."""


class Flusher:
    """One daemon thread per process, started by the first recorder that holds an event back.

    A recorder joins once when it starts holding events (not once per event: a run of cheap tasks wakes the
    thread about once per FLUSH_AFTER, not once per task) and leaves when the thread finds it holds nothing.
    Lock order: a recorder's own lock, then this one's; the thread takes no recorder lock while it holds its own.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders: dict[int, Holder] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._pid = 0

    def join(self, holder: Holder) -> None:
        with self._cond:
            if self._pid != os.getpid():  # a forked child: the parent's thread and holders are not its own
                atexit.register(self.stop)  # before the state's connections close (atexit runs LIFO)
                self._pid, self._thread, self._holders, self._stopping = os.getpid(), None, {}, False
            self._holders[id(holder)] = holder
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
                self._thread.start()
            self._cond.notify()

    def leave(self, holder: Holder) -> None:
        with self._cond:
            self._holders.pop(id(holder), None)

    def stop(self) -> None:
        """Write what every holder still holds and end the thread (at exit, before the state's connections
        close: a connection must not close under this thread's write)."""
        with self._cond:
            thread = self._thread if self._pid == os.getpid() else None
            self._stopping = True
            self._cond.notify()
        if thread is not None:
            thread.join(STOP_WAIT_S)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._holders and not self._stopping:
                    self._cond.wait()
                holders, stopping = list(self._holders.values()), self._stopping
            now = math.inf if stopping else time.monotonic()  # stopping: everything held is due
            wake = [due for due in (self._visit(holder, now) for holder in holders) if due is not None]
            if stopping:
                return
            if wake:
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(max(0.0, min(wake) - time.monotonic()))

    def _visit(self, holder: Holder, now: float) -> float | None:
        try:
            return holder.flush_if_due(now)
        except Exception:  # a recorder's failures are its own (it stops recording); never this thread's end
            self.leave(holder)
            return None


FLUSHER = Flusher()
