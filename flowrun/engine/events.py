"""Engine events and the bus that hands them to listeners (recorder, live view, tests)."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, Protocol

from flowrun.model.execution import Execution, TaskRun
from flowrun.plain import Plain


class LogLine(Plain):
    FIELDS = ("execution_id", "task_run_id", "task_id", "attempt", "level", "timestamp", "message")

    def __init__(self, execution_id: str, task_run_id: str | None, task_id: str | None, attempt: int | None,
                 level: str, timestamp: datetime, message: str) -> None:
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.task_id = task_id
        self.attempt = attempt
        self.level = level
        self.timestamp = timestamp
        self.message = message


class Listener(Protocol):
    def execution_updated(self, execution: Execution) -> None: ...
    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None: ...
    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None: ...
    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None: ...
    def flush(self) -> None: ...


class BaseListener:
    """A listener that ignores everything; subclass and override what you need."""

    def execution_updated(self, execution: Execution) -> None:
        return None

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        return None

    def log(self, line: LogLine) -> None:
        return None

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        return None

    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        """A task attempt started a process group (`pgid`) in this process."""
        return None

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        return None

    def flush(self) -> None:
        """Write what is held back now: another process is about to read the execution's state."""
        return None


class Bus:
    """Fans events out to listeners, one event at a time (tasks may run in several threads).

    The first listener (the recorder) must succeed: its failure is flowrun's own failure. A display listener
    that fails is dropped with a warning, so a rendering problem never fails a task.
    """

    def __init__(self, listeners: list[Any] | None = None) -> None:
        self.listeners: list[Any] = list(listeners or [])
        self._lock = threading.RLock()

    def _emit(self, method: str, *args: Any) -> None:
        with self._lock:
            for index, listener in enumerate(list(self.listeners)):
                handler = getattr(listener, method, None)
                if handler is None:  # a listener written before this event existed
                    continue
                try:
                    handler(*args)
                except Exception as exc:
                    if index == 0:
                        raise
                    self.listeners.remove(listener)
                    sys.stderr.write(f"warning: display disabled after an error: {type(exc).__name__}: {exc}\n")

    def execution_updated(self, execution: Execution) -> None:
        self._emit("execution_updated", execution)

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        self._emit("taskrun_updated", execution, taskrun)

    def log(self, line: LogLine) -> None:
        self._emit("log", line)

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        self._emit("metric", execution, taskrun, name, type, value, tags)

    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self._emit("process_started", execution, taskrun, attempt, pgid)

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self._emit("process_ended", execution, taskrun, attempt, pgid)

    def flush(self) -> None:
        self._emit("flush")
