"""Console listeners: plain progress lines for pipes and logs, a live rich table for terminals."""

from __future__ import annotations

import threading
from typing import IO, Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.model.execution import TERMINAL, Execution, TaskRun, utcnow

LEVEL_ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4}


def _duration(taskrun: TaskRun) -> str:
    end = taskrun.end_date or utcnow()
    seconds = (end - taskrun.start_date).total_seconds()
    return f"{seconds:.2f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class PlainReporter(BaseListener):
    """One line per finished task run and per log line; safe for pipes and CI logs."""

    def __init__(self, stream: IO[str], min_level: str = "INFO") -> None:
        self.stream = stream
        self.min_level = LEVEL_ORDER.get(min_level, 2)
        self._lock = threading.Lock()
        self._printed: set[tuple[str, str]] = set()

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def execution_updated(self, execution: Execution) -> None:
        if execution.state in ("RUNNING", "QUEUED") and (execution.id, execution.state) not in self._printed:
            self._printed.add((execution.id, execution.state))
            verb = "started" if execution.state == "RUNNING" else "queued (flow concurrency limit reached)"
            self._write(f"execution {execution.id} of {execution.namespace}/{execution.flow_id} {verb}")
        elif execution.state in TERMINAL or execution.state == "PAUSED":
            self._write(f"execution {execution.id} {execution.state}")

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        if taskrun.state in TERMINAL and (taskrun.id, taskrun.state) not in self._printed:
            self._printed.add((taskrun.id, taskrun.state))
            value = f"[{taskrun.value}]" if taskrun.value is not None else ""
            self._write(f"  {taskrun.state:<8} {taskrun.task_id}{value} ({_duration(taskrun)})")

    def log(self, line: LogLine) -> None:
        if LEVEL_ORDER.get(line.level, 2) >= self.min_level:
            where = line.task_id or "execution"
            for text in line.message.splitlines() or [""]:
                self._write(f"    {line.level:<5} {where}: {text}")


class LiveReporter(BaseListener):
    """A live table of task runs (state and duration) above the scrolling logs."""

    STYLES = {"SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "red", "RUNNING": "cyan",
              "SKIPPED": "dim", "RETRYING": "magenta", "PAUSED": "yellow", "CREATED": "dim"}

    def __init__(self, stream: IO[str], min_level: str = "INFO") -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.min_level = LEVEL_ORDER.get(min_level, 2)
        self.runs: dict[str, TaskRun] = {}
        self.execution: Execution | None = None
        self.live = Live(console=self.console, refresh_per_second=8, get_renderable=self._table, transient=False)
        self.live.start()

    def _table(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        title = Text("")
        if self.execution:
            title = Text.assemble((f"{self.execution.namespace}/{self.execution.flow_id}", "bold"),
                                  f"  {self.execution.id}  ",
                                  (self.execution.state, self.STYLES.get(self.execution.state, "")))
        table = Table(expand=False, box=None, padding=(0, 2, 0, 0))
        table.add_column("task")
        table.add_column("state")
        table.add_column("duration", justify="right")
        for taskrun in list(self.runs.values()):
            depth, parent = 0, self.runs.get(taskrun.parent_id or "")
            while parent is not None and depth < 20:
                depth, parent = depth + 1, self.runs.get(parent.parent_id or "")
            name = "  " * depth + taskrun.task_id + (f"[{taskrun.value}]" if taskrun.value is not None else "")
            table.add_row(Text(name), Text(taskrun.state, style=self.STYLES.get(taskrun.state, "")),
                          _duration(taskrun))
        return Group(title, table)

    def execution_updated(self, execution: Execution) -> None:
        self.execution = execution
        if execution.state in TERMINAL or execution.state == "PAUSED":
            self.live.refresh()
            self.live.stop()

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        self.runs[taskrun.id] = taskrun

    def log(self, line: LogLine) -> None:
        if LEVEL_ORDER.get(line.level, 2) >= self.min_level:
            from rich.text import Text

            style = {"ERROR": "red", "WARN": "yellow"}.get(line.level, "")
            text = Text.assemble((f"{line.level:<5} ", style), f"{line.task_id or 'execution'}: {line.message}")
            self.live.console.print(text, highlight=False)

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()
