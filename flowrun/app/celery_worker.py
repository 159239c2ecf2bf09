"""`flowrun worker`: a Celery worker (Celery's own worker API) that runs the attempts and executions it is sent.

The worker opens its project (its own FLOWRUN_HOME: venv caches, temp dirs, `secret.key`), the shared state
store of `state:` and the shared storage of `storage:`. It runs on Celery's thread pool: attempts are
subprocesses and I/O, and one `kill -9` takes the whole worker down, so its attempts are seen lost together.
Messages are acked late and requeued when the worker is lost; claims in the state store keep a redelivered
message from running anything twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowrun.app.remote import Worker, run_attempt, run_execution
from flowrun.errors import UsageError
from flowrun.project import open_project

if TYPE_CHECKING:
    from flowrun.scaleout.settings import ExecutorSettings


def celery_app_for(worker: Worker, settings: ExecutorSettings) -> Any:
    """The broker's Celery app with flowrun's two tasks bound to `worker`."""
    from flowrun.scaleout.broker import ATTEMPT_TASK, EXECUTION_TASK, celery_app

    app = celery_app(settings)
    app.steps["consumer"].add(_prompt_stop_step())
    options = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}

    @app.task(name=ATTEMPT_TASK, **options)
    def attempt(execution_id: str, task_run_id: str, number: int, revision: int | None) -> str:
        return run_attempt(worker, execution_id, task_run_id, number, revision)

    @app.task(name=EXECUTION_TASK, **options)
    def execution(execution_id: str, revision: int | None) -> str:
        return run_execution(worker, execution_id)

    return app


def start_worker(home: str | None, concurrency: int, queues: list[str], name: str | None,
                 loglevel: str = "INFO", notify: Callable[[str], None] | None = None) -> int:
    """Run a worker until it is stopped (SIGTERM or Ctrl-C: a warm shutdown); returns its exit code."""
    from flowrun.scaleout.broker import check

    project = open_project(home)
    settings = project.executor
    if not settings.celery:
        raise UsageError("`flowrun worker` needs the celery executor",
                         hint="set `executor: {type: celery, broker: redis://HOST:6379/0}` in flowrun.yaml, "
                              "or FLOWRUN_BROKER")
    check(settings)
    worker = Worker.open(project, name)
    if not worker.db.shared and notify is not None:
        notify(f"warning: the state is the SQLite file {worker.db.location}: only processes of this machine using "
               "the same state dir see what this worker runs; set `state: postgresql://...` (FLOWRUN_STATE) to "
               "scale out")
    os.environ["FLOWRUN_EXECUTOR"] = "local"  # what runs here (subflows of an execution it took) stays here
    app = celery_app_for(worker, settings)
    _quiet_root_warning()
    runner = app.Worker(concurrency=concurrency, queues=queues or [settings.queue], pool="threads",
                        hostname=f"{worker.name}", loglevel=loglevel, without_gossip=True, without_mingle=True,
                        without_heartbeat=True, quiet=True, optimization="fair")
    runner.start()
    return int(runner.exitcode or 0)


#: how often the worker's event loop wakes, at most, to see a stop request (SIGTERM, Ctrl-C)
STOP_CHECK_S = 0.5


def _prompt_stop_step() -> type:
    """A consumer bootstep that wakes the event loop every STOP_CHECK_S seconds.

    Celery's loop sees a warm shutdown request only between two polls, and a poll lasts until the next timer
    entry, up to 10 s: on Redis the transport's own timers keep polls short, on RabbitMQ nothing does, and a
    worker took 5-10 s to stop. A no-op timer entry bounds every poll."""
    from celery import bootsteps

    class PromptStop(bootsteps.StartStopStep):
        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            self.entry: Any = None

        def start(self, parent: Any) -> None:
            self.entry = parent.timer.call_repeatedly(STOP_CHECK_S, _awake)

        def stop(self, parent: Any) -> None:
            if self.entry is not None:
                self.entry.cancel()

    return PromptStop


def _awake() -> None:
    """The timer entry of PromptStop: nothing to do, its firing ends the poll."""


def _quiet_root_warning() -> None:
    """Celery warns about root only for its pickle-accepting prefork pool; this worker accepts JSON, threads."""
    import warnings

    from celery.exceptions import SecurityWarning

    warnings.filterwarnings("ignore", category=SecurityWarning)
