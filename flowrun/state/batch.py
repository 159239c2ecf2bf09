"""What the recorder hands a state store to write in one transaction (`StateStore.record`): a `Batch`.

Kept apart from `flowrun.state.records`, whose values only the stores' less frequent calls (schedule claims,
purges, listings, task states) take: a run creates these two classes and none of those (~0.3 ms each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.plain import Plain

if TYPE_CHECKING:
    from flowrun.model.execution import Execution
    from flowrun.state.records import Row


class TaskRunWrite(Plain):
    """One task run as the recorder saw it last: its row (`flowrun.state.executions.taskrun_row`) and whether
    this process has yet to write it (then the whole row is upserted, else its changing columns updated)."""

    FIELDS = ("row", "insert")

    def __init__(self, row: Row, insert: bool) -> None:
        self.row = row
        self.insert = insert


class Batch(Plain):
    """What the recorder writes in one transaction (`StateStore.record`): an execution row, then the latest row
    of each task run, then log lines and metrics, each a tuple of `add_log`'s / `add_metric`'s parameters (the
    metric's tags as JSON text, then its timestamp)."""

    FIELDS = ("execution", "task_runs", "logs", "metrics", "processes", "ended_processes")

    def __init__(self, execution: tuple[Execution, Any, Any, Any] | None = None,
                 task_runs: dict[str, TaskRunWrite] | None = None, logs: list[tuple[Any, ...]] | None = None,
                 metrics: list[tuple[Any, ...]] | None = None, processes: list[tuple[Any, ...]] | None = None,
                 ended_processes: list[int] | None = None) -> None:
        #: (execution, sealed inputs, sealed outputs, sealed variables: None while the flow's are unchanged)
        self.execution = execution
        self.task_runs: dict[str, TaskRunWrite] = {} if task_runs is None else task_runs
        self.logs: list[tuple[Any, ...]] = [] if logs is None else logs
        self.metrics: list[tuple[Any, ...]] = [] if metrics is None else metrics
        #: task processes started (`record_process`'s parameters) and ended (their pgid), written after the
        #: task runs
        self.processes: list[tuple[Any, ...]] = [] if processes is None else processes
        self.ended_processes: list[int] = [] if ended_processes is None else ended_processes

    def __bool__(self) -> bool:
        return bool(self.execution or self.task_runs or self.logs or self.metrics or self.processes
                    or self.ended_processes)
