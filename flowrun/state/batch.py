"""What the recorder hands a state store to write in one transaction (`StateStore.record`): a `Batch`.

Kept apart from `flowrun.state.records`, whose values only the stores' less frequent calls (schedule claims,
purges, listings, task states) take: a run creates these two classes and none of those (~0.3 ms each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowrun.model.execution import Execution
    from flowrun.state.records import Row


@dataclass
class TaskRunWrite:
    """One task run as the recorder saw it last: its row (`flowrun.state.executions.taskrun_row`) and whether
    this process has yet to write it (then the whole row is upserted, else its changing columns updated)."""

    row: Row
    insert: bool


@dataclass
class Batch:
    """What the recorder writes in one transaction (`StateStore.record`): an execution row, then the latest row
    of each task run, then log lines and metrics, each a tuple of `add_log`'s / `add_metric`'s parameters (the
    metric's tags as JSON text, then its timestamp)."""

    #: (execution, sealed inputs, sealed outputs, sealed variables: None while the flow's are unchanged)
    execution: tuple[Execution, Any, Any, Any] | None = None
    task_runs: dict[str, TaskRunWrite] = field(default_factory=dict)
    logs: list[tuple[Any, ...]] = field(default_factory=list)
    metrics: list[tuple[Any, ...]] = field(default_factory=list)
    #: task processes started (`record_process`'s parameters) and ended (their pgid), written after the task runs
    processes: list[tuple[Any, ...]] = field(default_factory=list)
    ended_processes: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.execution or self.task_runs or self.logs or self.metrics or self.processes
                    or self.ended_processes)
