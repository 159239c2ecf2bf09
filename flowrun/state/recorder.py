"""The recorder: an engine listener that writes executions, task runs, logs and metrics to the state store."""

from __future__ import annotations

from typing import Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.engine.model import Execution, TaskRun, iso
from flowrun.state.protocol import StateStore


class Recorder(BaseListener):
    """Every event is committed before the engine goes on, so a crash leaves finished attempts on disk."""

    def __init__(self, db: StateStore, seal: Any, masker: Any) -> None:
        self.db = db
        self.seal = seal  # callable(execution, value, secret_paths) -> value safe to store
        self.masker = masker
        self._created: set[str] = set()

    def execution_updated(self, execution: Execution) -> None:
        self.db.save_execution(execution, self.seal(execution.inputs, execution.secret_inputs),
                               self.seal(execution.outputs, set()))

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        outputs = self.seal(taskrun.outputs, set())
        if taskrun.id in self._created:
            self.db.update_task_run(taskrun, outputs)
        else:
            self.db.insert_task_run(taskrun, outputs)
            self._created.add(taskrun.id)

    def log(self, line: LogLine) -> None:
        self.db.add_log(line.execution_id, line.task_run_id, line.task_id, line.attempt, line.level,
                        iso(line.timestamp), line.message)

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        self.db.add_metric(execution.id, taskrun.id, name, type, value, tags)

    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.db.record_process(execution.id, taskrun.id, taskrun.task_id, attempt, pgid)

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.db.forget_process(pgid)
