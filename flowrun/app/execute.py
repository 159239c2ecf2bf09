"""Running one prepared execution: the recorder and listeners on the bus, flow concurrency, Ctrl-C and SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from flowrun.engine.launch import RunOptions, default_max_parallel
from flowrun.engine.services import Services
from flowrun.model.execution import Execution


class Outcome(NamedTuple):
    admitted: bool  # False: the flow's concurrency limit ended it before it ran
    interrupted: bool  # Ctrl-C or SIGTERM stopped it


def seal_for(services: Services) -> Any:
    """How values are made safe to store: secret inputs and any string holding a known secret are sealed."""
    from flowrun.crypto import is_sealed

    def seal(value: Any, secret_ids: set[str]) -> Any:
        def walk(obj: Any, top: bool) -> Any:
            if isinstance(obj, dict) and not is_sealed(obj):
                return {k: (services.cipher.seal(v) if top and k in secret_ids and isinstance(v, str)
                            else walk(v, False)) for k, v in obj.items()}
            if isinstance(obj, list):
                return [walk(v, False) for v in obj]
            if isinstance(obj, str) and len(services.masker) and services.masker.mask(obj) != obj:
                return services.cipher.seal(obj)
            return obj

        return walk(value, True)

    return seal


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(flow: Any, execution: Execution, services: Services, options: RunOptions,
            reuse: dict | None = None, resumptions: dict | None = None) -> Outcome:
    """Admit the execution (flow concurrency), then run it to its end, its pause or Ctrl-C (or SIGTERM)."""
    from flowrun.engine.events import Bus
    from flowrun.engine.executor import Executor
    from flowrun.state.recorder import Recorder
    from flowrun.state.store import Heartbeat

    if execution.flow_revision is None and execution.flow_source:
        execution.flow_revision = services.db.record_revision(execution.namespace, execution.flow_id,
                                                  execution.flow_source)
    recorder = Recorder(services.db, seal_for(services), on_failure=lambda _: executor.kill(), hold=True,
                        pure_types=frozenset(task.type for task in flow.all_tasks() if task.pure))
    bus = Bus([recorder, *options.listeners])
    executor = Executor(flow, execution, services, bus, max_parallel=_max_parallel(services, options),
                        reuse=reuse, resumptions=resumptions, mocks=options.mocks)
    if execution.state == "CREATED":
        bus.execution_updated(execution)
        recorder.raise_if_failed(execution)
    interrupted = False
    with _sigterm_as_interrupt(), Heartbeat(services.db, execution.id):
        try:
            if reuse is None and not _admitted(flow, execution, services, bus, threading.Event()):
                return Outcome(admitted=False, interrupted=False)
            executor.run()
        except KeyboardInterrupt:
            interrupted = True
            executor.kill()
            execution.end_date = execution.end_date or execution.start_date
            execution.set_state("KILLED")
            bus.execution_updated(execution)
    executor.join_background()
    recorder.raise_if_failed(execution)  # the state DB refused a write: stopped, exit 4, no RUNNING row
    return Outcome(admitted=True, interrupted=interrupted or executor.interrupted)


def _max_parallel(services: Services, options: RunOptions) -> int:
    return options.max_parallel or services.project.config.max_parallel or default_max_parallel()


def _admitted(flow: Any, execution: Execution, services: Services, bus: Any, stop: threading.Event) -> bool:
    """Apply the flow's concurrency limit; False when the execution ended without running."""
    from flowrun.model.execution import utcnow
    from flowrun.state.concurrency import admit, wait_for_slot

    limit = flow.doc.concurrency
    if limit is None:
        return True
    outcome = admit(services.db, execution, limit.limit, limit.behavior)
    if outcome == "RUNNING":
        return True
    bus.execution_updated(execution)
    if outcome == "QUEUED":
        try:
            return wait_for_slot(services.db, execution, limit.limit, stop)
        except KeyboardInterrupt:
            stop.set()
            raise
    execution.error = f"the flow's concurrency limit ({limit.limit}) is reached"
    execution.end_date = utcnow()
    execution.set_state(outcome)
    bus.execution_updated(execution)
    return False


def attempt_executor(flow: Any, execution: Execution, services: Services, bus: Any) -> Any:
    """An executor over a recorded execution, to run one of its attempts here (a Celery worker): the recorded
    task runs' outputs and states are its context; it publishes only what `bus` keeps."""
    from flowrun.engine.executor import Executor

    executor = Executor(flow, execution, services, bus)
    executor.adopt_recorded()
    return executor
