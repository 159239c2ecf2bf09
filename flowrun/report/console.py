"""Console listeners: plain progress lines for pipes and logs, a live rich table for terminals, each with its
closing summary."""

from __future__ import annotations

import threading
from typing import IO, Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.model.execution import TERMINAL, Execution, TaskRun
from flowrun.report.live_rows import elapsed_seconds, state_name
from flowrun.report.palette import colour_of
from flowrun.report.timing import seconds_text

LEVEL_ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4}


def _duration(taskrun: TaskRun) -> str:
    return seconds_text(elapsed_seconds(taskrun.start_date, taskrun.end_date))


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

    def summary(self, execution: Execution, outputs: dict[str, Any]) -> None:
        """The closing lines: state, duration, failed tasks with their error's first line, flow outputs."""
        from flowrun.report.summary import summary_lines

        for text in summary_lines(execution, outputs):
            self._write(text)

    def log(self, line: LogLine) -> None:
        if LEVEL_ORDER.get(line.level, 2) >= self.min_level:
            where = line.task_id or "execution"
            for text in line.message.splitlines() or [""]:
                self._write(f"    {line.level:<5} {where}: {text}")


class LiveReporter(BaseListener):
    """A live table of task runs that fits the terminal (finished groups fold into one line, running and failed
    rows stay in view) under a header of counts, above the scrolling logs; `summary` closes it."""

    def __init__(self, stream: IO[str] | None = None, min_level: str = "INFO", console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(file=stream)
        self.min_level = LEVEL_ORDER.get(min_level, 2)
        self.runs: dict[str, TaskRun] = {}
        self.last_log: dict[str, str] = {}
        self.execution: Execution | None = None
        self.live = Live(console=self.console, refresh_per_second=8, get_renderable=self.renderable,
                         transient=False)
        self.live.start()

    def renderable(self) -> Any:
        """The header and the rows that fit the console's height."""
        from rich.console import Group

        from flowrun.report.live_rows import live_rows

        runs = list(self.runs.values())
        rows = live_rows(runs, max(self.console.height - 6, 3))
        return Group(self._header(runs), self._rows_table(rows))

    def _header(self, runs: list[TaskRun]) -> Any:
        from rich.text import Text

        from flowrun.report.live_rows import count_runs

        if self.execution is None:
            return Text("")
        ex, counts = self.execution, count_runs(runs)
        header = Text.assemble((f"{ex.namespace}/{ex.flow_id}", "bold"), "  ",
                               (state_name(ex.state), colour_of(state_name(ex.state)).style),
                               f"  done {counts.done}/{counts.total}  running {counts.running}  ",
                               (f"failed {counts.failed}", "red" if counts.failed else ""),
                               f"  elapsed {seconds_text(elapsed_seconds(ex.start_date, ex.end_date))}  {ex.id}")
        header.no_wrap, header.overflow = True, "ellipsis"
        return header

    def _rows_table(self, rows: list[Any]) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        from flowrun.report.live_rows import short_type

        table = Table(expand=False, box=None, padding=(0, 2, 0, 0), show_header=False)
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, min_width=9)
        table.add_column(no_wrap=True, min_width=7, justify="right")
        table.add_column(no_wrap=True, overflow="ellipsis")
        for row in rows:
            taskrun = row.taskrun
            if taskrun is None:
                table.add_row(Text(row.note, style="dim"), "", "", "")
                continue
            name = "  " * row.depth + taskrun.task_id + (f"[{taskrun.value}]" if taskrun.value is not None else "")
            state = state_name(taskrun.state)
            detail: Any = ""
            if state in ("RUNNING", "RETRYING") and not row.note:
                detail = Spinner("dots", Text(self.last_log.get(taskrun.id, "")[:80], style="dim"))
            label = Text(name)
            if row.note:
                label.append(f"  {short_type(taskrun)}  ", style="dim").append(row.note)
            table.add_row(label, Text(state, style=colour_of(state).style), _duration(taskrun), detail)
        return table

    def execution_updated(self, execution: Execution) -> None:
        self.execution = execution
        if (execution.state in TERMINAL or execution.state == "PAUSED") and self.live.is_started:
            self.live.refresh()
            self.live.stop()

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        self.execution = self.execution or execution
        self.runs[taskrun.id] = taskrun

    def log(self, line: LogLine) -> None:
        if line.task_run_id:
            self.last_log[line.task_run_id] = next(iter(line.message.splitlines()), "")
        if LEVEL_ORDER.get(line.level, 2) >= self.min_level:
            from rich.text import Text

            style = {"ERROR": "red", "WARN": "yellow"}.get(line.level, "")
            text = Text.assemble((f"{line.level:<5} ", style), f"{line.task_id or 'execution'}: {line.message}")
            self.live.console.print(text, highlight=False)

    def summary(self, execution: Execution, outputs: dict[str, Any]) -> None:
        """The closing block: state, duration, failed tasks with their error's first line, flow outputs."""
        from rich.panel import Panel
        from rich.text import Text

        from flowrun.report.summary import summary_lines

        self.close()
        lines = summary_lines(execution, outputs)
        style = colour_of(state_name(execution.state)).style
        body = Text("\n".join(lines[1:])) if len(lines) > 1 else Text("")
        self.console.print(Panel(body, title=Text(lines[0], style=style), title_align="left", expand=False,
                                 border_style=style), highlight=False)

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()
