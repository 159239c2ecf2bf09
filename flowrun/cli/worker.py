"""`worker`: run a Celery worker that takes task attempts and whole executions from the broker."""

from __future__ import annotations

from typing import Annotated

import typer

from flowrun.cli.options import Home, err


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=256,
                                             help="Attempts (or executions) this worker runs at once.")] = 4,
    queues: Annotated[str | None, typer.Option("--queues", "-Q", help="Comma-separated queues to take work "
                                               "from (a task's workerGroup.key is its queue); default: "
                                               "executor.queue of flowrun.yaml (flowrun).",
                                               show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The worker's name, recorded on the task runs it "
                                             "runs (default: PID@HOST).", show_default=False)] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery's log level.")] = "WARNING",
    home: Home = None,
) -> None:
    """Run a Celery worker for this project's `executor: {type: celery, broker: ...}` until stopped.

    It uses the shared state (`state:`) and storage (`storage:`) of flowrun.yaml, and its own FLOWRUN_HOME for
    venv caches and temp dirs (each machine keeps its own). SIGTERM or Ctrl-C stops it after its running work.

    Example: FLOWRUN_HOME=/var/lib/flowrun flowrun worker --concurrency 8 --queues flowrun,gpu
    """
    from flowrun.app.celery_worker import start_worker

    listed = [q.strip() for q in (queues or "").split(",") if q.strip()]
    raise typer.Exit(start_worker(home, concurrency, listed, name, loglevel.upper(), notify=err))


def add_commands(app: typer.Typer) -> None:
    app.command("worker")(worker)
