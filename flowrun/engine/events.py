"""Engine events and the bus that hands them to listeners (recorder, live view, tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flowrun.engine.model import Execution, TaskRun


@dataclass
class LogLine:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    attempt: int | None
    level: str
    timestamp: datetime
    message: str


class Listener(Protocol):
    def execution_updated(self, execution: Execution) -> None: ...
    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None: ...


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


class Bus:
    """Fans events out to listeners, one event at a time (tasks may run in several threads)."""

    def __init__(self, listeners: list[Any] | None = None) -> None:
        self.listeners: list[Any] = list(listeners or [])
        self._lock = threading.RLock()

    def execution_updated(self, execution: Execution) -> None:
        with self._lock:
            for listener in self.listeners:
                listener.execution_updated(execution)

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        with self._lock:
            for listener in self.listeners:
                listener.taskrun_updated(execution, taskrun)

    def log(self, line: LogLine) -> None:
        with self._lock:
            for listener in self.listeners:
                listener.log(line)

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        with self._lock:
            for listener in self.listeners:
                listener.metric(execution, taskrun, name, type, value, tags)
