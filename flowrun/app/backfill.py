"""`backfill`: replay a flow's schedule over a window of dates, each date in a worker process; past backfills."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowrun.app.services import open_state, project_state
from flowrun.schedule.backfill import BackfillRequest, BackfillResult, Progress

__all__ = ["BackfillRequest", "backfill", "list_backfills"]


def backfill(request: BackfillRequest, progress: Progress | None = None) -> BackfillResult:
    """Plan the window of `request`; unless it is a dry run, run its dates and record the backfill."""
    from flowrun.app.enqueue import IN_FLIGHT
    from flowrun.app.worker import COMMAND
    from flowrun.load import load_project_flow
    from flowrun.project import resolve_flow_ref
    from flowrun.schedule.backfill import backfill_specs, check_request, run_backfill

    path, project = resolve_flow_ref(request.flow, request.home)
    celery = project.executor.celery
    if request.parallel == 0:
        request = replace(request, parallel=IN_FLIGHT if celery else 1)
    check_request(request)
    flow = load_project_flow(path, project)
    if request.parallel > 1 and not request.dry_run and not celery:
        # the worker processes load the file by its resolved path: cached under that spelling too, their first
        # job does not validate it again (each would import pydantic and the validator: ~0.25 s of CPU)
        load_project_flow(path.resolve(), project)
    specs = backfill_specs(flow, request)
    pool: Any = COMMAND
    if celery and not request.dry_run:
        from flowrun.app.enqueue import remote_starter
        from flowrun.app.run import start_execution
        from flowrun.scaleout.broker import check
        from flowrun.schedule.runner import InProcessPool

        check(project.executor)  # a broker that is down fails here, before any date is claimed
        pool = InProcessPool(remote_starter(start_execution))
    return run_backfill(request, flow, open_state(project), specs, str(project.home), pool, progress)


def list_backfills(home: str | None) -> list[dict[str, Any]]:
    """Past backfills, newest first, with their counts."""
    from flowrun.schedule.backfill import list_backfills as query

    _, db = project_state(home)
    return query(db)
