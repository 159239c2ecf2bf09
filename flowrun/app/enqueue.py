"""Whole executions on Celery workers: record one and hand it to the broker (`run --detach`, tick, backfill),
then, for tick and backfill, wait for its end by reading the state store."""

from __future__ import annotations

import threading
import time
from typing import Any

from flowrun.engine.launch import RunOptions
from flowrun.engine.services import PreparedRun, Services, StartExecution
from flowrun.model.execution import TERMINAL, Execution, State

#: how often a waiting tick or backfill reads an enqueued execution's state
POLL_SECONDS = 0.1
#: executions a tick or backfill keeps in flight on the workers by default (each holds a state connection here)
IN_FLIGHT = 16


def enqueue(prepared: Any) -> Execution:
    """Record the prepared execution CREATED, hand it over (no process owns it) and send its id to the broker.
    A broker that is down fails with BrokerError (exit 4); the execution is then recorded FAILED, not lost."""
    from flowrun.app.execute import seal_for
    from flowrun.scaleout.broker import EXECUTION_TASK, send
    from flowrun.state.recorder import Recorder
    from flowrun.state.store import abandon_execution

    execution, services = prepared.execution, prepared.services
    db = services.db
    if execution.flow_revision is None and execution.flow_source:
        execution.flow_revision = db.record_revision(execution.namespace, execution.flow_id, execution.flow_source)
    recorder = Recorder(db, seal_for(services))
    recorder.execution_updated(execution)
    recorder.raise_if_failed(execution)
    db.hand_over_execution(execution.id)
    settings = services.project.executor
    try:
        send(settings, EXECUTION_TASK, [execution.id, execution.flow_revision], settings.queue)
    except Exception as exc:
        abandon_execution(db, execution.id, f"it could not be sent to the Celery broker: {exc}")
        raise
    return execution


def enqueue_run(ref: str, options: RunOptions, trigger_id: str | None = None, date: str | None = None,
                notify: Any = None) -> Execution:
    """`flowrun run --detach`: validate the flow and its inputs here, then a worker runs the whole execution."""
    from flowrun.app.run import start_execution
    from flowrun.errors import UsageError

    prepared = start_execution(ref, options, trigger_id, date, notify)
    if not prepared.services.project.executor.celery:
        raise UsageError("--detach needs the celery executor",
                         hint="set `executor: {type: celery, broker: ...}` in flowrun.yaml, or FLOWRUN_BROKER")
    return enqueue(prepared)


def wait_for(db: Any, execution_id: str, unseal: Any, stop: threading.Event | None = None) -> Execution:
    """Read the execution until it ends (or pauses); returns it as recorded. Once `stop` is set (Ctrl-C), an
    execution no worker has taken yet is withdrawn (KILLED, so its date counts as not run); one that a worker
    runs is waited for to its end."""
    from flowrun.engine.resume import load_execution
    from flowrun.model.execution import iso, utcnow

    withdrawn = False
    while True:
        row = db.find_execution(execution_id)
        if row is not None and (row["state"] in TERMINAL or row["state"] == State.PAUSED):
            return load_execution(db, execution_id, unseal)
        if stop is not None and stop.is_set() and not withdrawn:
            withdrawn = True
            db.withdraw_execution(execution_id, str(iso(utcnow())), "withdrawn before a worker took it: the "
                                  "command that enqueued it was stopped")
            continue
        time.sleep(POLL_SECONDS)


class RemoteRun:
    """A prepared execution whose `run()` runs it on a worker: enqueue, then wait for its end."""

    def __init__(self, prepared: PreparedRun, stop: threading.Event) -> None:
        self.prepared = prepared
        self.execution: Execution = prepared.execution
        self.services: Services = prepared.services
        self.stop = stop

    def run(self) -> Execution:
        enqueue(self.prepared)
        return wait_for(self.services.db, self.execution.id, self.services.cipher.unseal, self.stop)


class RemoteStarter:
    """`start_execution` for tick and backfill with the Celery executor: each date runs on a worker.
    `interrupt()` (Ctrl-C) withdraws the executions no worker has taken yet."""

    def __init__(self, start: StartExecution) -> None:
        self.start = start
        self.stopping = threading.Event()

    def __call__(self, ref: str, options: RunOptions) -> PreparedRun:
        return RemoteRun(self.start(ref, options), self.stopping)

    def interrupt(self) -> None:
        self.stopping.set()


def remote_starter(start: StartExecution) -> RemoteStarter:
    return RemoteStarter(start)
