"""`backfill`: replay a flow's schedule over a window of dates, each date in a worker process; past backfills."""

from __future__ import annotations

from typing import Any

from flowrun.app.services import open_state, project_state
from flowrun.schedule.backfill import BackfillRequest, BackfillResult, Progress

__all__ = ["BackfillRequest", "backfill", "list_backfills"]


def backfill(request: BackfillRequest, progress: Progress | None = None) -> BackfillResult:
    """Plan the window of `request`; unless it is a dry run, run its dates and record the backfill."""
    from flowrun.app.worker import COMMAND
    from flowrun.load import load_flow
    from flowrun.project import resolve_flow_ref
    from flowrun.schedule.backfill import backfill_specs, check_request, run_backfill

    check_request(request)
    path, project = resolve_flow_ref(request.flow, request.home)
    flow = load_flow(path, project.config.plugin_defaults)
    specs = backfill_specs(flow, request)
    return run_backfill(request, flow, open_state(project), specs, str(project.home), COMMAND, progress)


def list_backfills(home: str | None) -> list[dict[str, Any]]:
    """Past backfills, newest first, with their counts."""
    from flowrun.schedule.backfill import list_backfills as query

    _, db = project_state(home)
    return query(db)
