"""The recorder: an engine listener that writes executions, task runs, logs and metrics to the state store."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from flowrun.engine.events import BaseListener, LogLine
from flowrun.errors import FlowrunError, StateError
from flowrun.model.execution import Execution, State, TaskRun, iso
from flowrun.state.batch import Batch, TaskRunWrite
from flowrun.state.executions import dumps, metric_stamp, taskrun_row
from flowrun.state.protocol import StateStore
from flowrun.state.store import abandon_execution
from flowrun.state.write_behind import FLUSH_AFTER, FLUSHER

#: the task run states an event may be held back in (`hold=True`): any other one ends an attempt or the run
HELD_STATES = frozenset({State.CREATED, State.RUNNING})


class Recorder(BaseListener):
    """An attempt's end is committed before the engine goes on, so a crash leaves finished attempts on disk.

    With `hold=False` every event is its own transaction. With `hold=True` (a run of `flowrun run` and the like)
    the events that start an attempt (its CREATED and RUNNING states) and those inside it (log lines, metrics)
    are held back and written with the next event that must be durable, in one transaction: the attempt's end
    (any other task run state), an execution's state, a process the task started, or `flush()` (the engine
    hands the execution to another process). The SUCCESS of a task of `pure_types` is held too: such a task
    acts on nothing outside its execution, so a crash that loses its end only makes a restart run it again;
    the RUNNING of any other task writes those held ends first (before it can act on anything, or read them).
    Held events wait at most FLUSH_AFTER (the write-behind thread writes them then), so a long task shows
    RUNNING and its logs while it runs, and a crash loses at most the last FLUSH_AFTER of them. Every write
    takes all that is pending, in the order it came: the state on disk is always the execution as it was at
    some moment, which is all that restart and the reaper need.

    The first write that fails (a damaged or full state DB, an unusable secret key) stops recording:
    `on_failure` is told (the caller stops the execution), later events are dropped, and `raise_if_failed`
    ends the command with a StateError after marking the execution's row FAILED, so that no row is left RUNNING.
    """

    def __init__(self, db: StateStore, seal: Any, on_failure: Callable[[FlowrunError], None] | None = None,
                 hold: bool = False, pure_types: frozenset[str] = frozenset()) -> None:
        self.db = db
        self.seal = seal  # callable(execution, value, secret_paths) -> value safe to store
        self.on_failure = on_failure
        self.hold = hold
        #: the task types (`Task.pure`) whose SUCCESS is held too: a crash before it is written reruns the task
        self.pure_types = pure_types
        self.failure: FlowrunError | None = None
        self._created: set[str] = set()
        self._lock = threading.RLock()
        self._pending = Batch()
        #: held task runs whose row is built when it is written (the latest state by then): CREATED then
        #: RUNNING then an end cost one row, not three
        self._unbuilt: dict[str, TaskRun] = {}
        self._since: float | None = None  # monotonic time the oldest held event came
        self._held_ends = False  # a pure task's SUCCESS is among them
        self._joined = False  # in the write-behind thread's list

    def _sealed(self, value: Any, secret_paths: set[str]) -> tuple[bool, Any]:
        """(True, value safe to store), or (False, None) after failing: never store the values in clear."""
        if self.failure is not None:
            return False, None
        try:
            return True, self.seal(value, secret_paths)
        except FlowrunError as exc:  # the secret key is unusable
            self._fail(exc)
            return False, None

    def raise_if_failed(self, execution: Execution) -> None:
        """After a failed write: mark the execution FAILED (best effort) and raise the StateError."""
        if self.failure is None:
            return
        error = f"flowrun could not record this execution: {self.failure.message}"
        note = ("it is not left RUNNING" if abandon_execution(self.db, execution.id, error) else
                "its row could not be updated: once the DB is repaired, the next command marks it KILLED")
        raise StateError(f"flowrun could not record execution {execution.id}, so it was stopped ({note}): "
                         f"{self.failure.message}", hint=self.failure.hint) from self.failure

    def _fail(self, exc: FlowrunError | sqlite3.Error) -> None:
        """Stop recording; `on_failure` is called without the recorder's lock held (it stops the execution, whose
        events come back here from other threads)."""
        with self._lock:
            if self.failure is not None:
                return
            self.failure = exc if isinstance(exc, FlowrunError) else StateError(
                f"cannot write to the state database {self.db.location}: {exc}")
        if self.on_failure is not None:
            self.on_failure(self.failure)

    # -- held events and their writing ----------------------------------------------------------------------
    def _add(self, durable: bool, change: Callable[[Batch], None]) -> None:
        """Put one event in the pending batch; write the batch now unless the event may be held back."""
        with self._lock:
            if self.failure is not None:  # recording stopped: nothing is held any more
                self._pending, self._unbuilt, self._since, self._held_ends = Batch(), {}, None, False
                return
            change(self._pending)
            if durable or not self.hold:
                failed = self._write_pending()
            else:
                failed = None
                if self._since is None:
                    self._since = time.monotonic()
                if not self._joined:
                    self._joined = True
                    FLUSHER.join(self)
        if failed is not None:
            self._fail(failed)

    def _write_pending(self) -> FlowrunError | sqlite3.Error | None:
        """Write the pending batch in one transaction (the lock held); the error that stops recording, if any."""
        batch, unbuilt = self._pending, self._unbuilt
        self._pending, self._unbuilt, self._since, self._held_ends = Batch(), {}, None, False
        if not batch or self.failure is not None:
            return None
        try:
            for run_id, taskrun in unbuilt.items():
                batch.task_runs[run_id].row = taskrun_row(taskrun, self.seal(taskrun.outputs, set()))
            self.db.record(batch)
        except (FlowrunError, sqlite3.Error) as exc:  # StateError, or the secret key is unusable
            return exc
        self._created.update(run_id for run_id, write in batch.task_runs.items() if write.insert)
        return None

    def flush(self) -> None:
        """Write every held event now (the engine is about to hand this execution's state to another process)."""
        self._add(True, lambda batch: None)

    def flush_if_due(self, now: float) -> float | None:
        """The write-behind thread's visit (see `flowrun.state.write_behind.Holder`)."""
        with self._lock:
            if self._since is None:
                self._joined = False
                FLUSHER.leave(self)
                return None
            due = self._since + FLUSH_AFTER
            if due > now:
                return due
        try:
            self.flush()
        except Exception as exc:  # a driver error no store translated: recording stops as for any failed write
            self._fail(StateError(f"cannot write to the state database {self.db.location}: {exc}"))
        return now + FLUSH_AFTER

    # -- events ---------------------------------------------------------------------------------------------
    def execution_updated(self, execution: Execution) -> None:
        sealed, inputs = self._sealed(execution.inputs, execution.secret_inputs)
        sealed, outputs = self._sealed(execution.outputs, set()) if sealed else (False, None)
        variables = None
        if sealed and execution.variables is not None:
            sealed, variables = self._sealed(execution.variables, set())
        if sealed:
            self._add(True, lambda batch: setattr(batch, "execution", (execution, inputs, outputs, variables)))

    def taskrun_updated(self, execution: Execution, taskrun: TaskRun) -> None:
        state, pure = taskrun.state, taskrun.task_type in self.pure_types
        held = state in HELD_STATES or (state == State.SUCCESS and pure)
        # a task that may act outside its execution (or read it: log.Fetch) starts once the ends held before it
        # are on disk
        durable = not self.hold or not held or (state == State.RUNNING and not pure and self._held_ends)
        row: dict[str, Any] = {}
        if durable:
            sealed, outputs = self._sealed(taskrun.outputs, set())
            if not sealed:
                return
            row = taskrun_row(taskrun, outputs)  # as it is now: the task run goes on changing

        def change(batch: Batch) -> None:
            known = batch.task_runs.get(taskrun.id)
            insert = known.insert if known is not None else taskrun.id not in self._created
            batch.task_runs[taskrun.id] = TaskRunWrite(row, insert)
            if durable:
                self._unbuilt.pop(taskrun.id, None)
            else:
                self._unbuilt[taskrun.id] = taskrun
                self._held_ends = self._held_ends or state == State.SUCCESS

        self._add(durable, change)

    def log(self, line: LogLine) -> None:
        entry = (line.execution_id, line.task_run_id, line.task_id, line.attempt, line.level, iso(line.timestamp),
                 line.message)
        self._add(False, lambda batch: batch.logs.append(entry))

    def metric(self, execution: Execution, taskrun: TaskRun, name: str, type: str, value: float,
               tags: dict[str, Any]) -> None:
        entry = (execution.id, taskrun.id, name, type, value, dumps(tags), metric_stamp())
        self._add(False, lambda batch: batch.metrics.append(entry))

    def process_started(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        # written at once, with what is held (the task run's RUNNING): one transaction, so that the reaper finds
        # the process of a task run that is RUNNING on disk
        started = (execution.id, taskrun.id, taskrun.task_id, attempt, pgid)
        self._add(True, lambda batch: batch.processes.append(started))

    def process_ended(self, execution: Execution, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        # held: written with the attempt's end (a crash before it leaves the row; the reaper finds its group gone)
        self._add(False, lambda batch: batch.ended_processes.append(pgid))
