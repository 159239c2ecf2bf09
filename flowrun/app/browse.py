"""`browse`: what the web UI lists: the project's flows, one flow with its problems and triggers, pages of executions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.app.services import project_state
from flowrun.errors import Problem, UsageError
from flowrun.project import open_project, peek_ids
from flowrun.state.records import ExecutionQuery

__all__ = ["ExecutionQuery", "FlowDetail", "FlowEntry", "flow_detail", "list_flows", "page_executions"]


@dataclass(frozen=True)
class FlowEntry:
    namespace: str
    flow_id: str
    path: Path


@dataclass
class FlowDetail:
    """One flow file: its source, every validation problem, the validated flow (None when invalid) and its
    schedule triggers with their next dates."""

    entry: FlowEntry
    source: str
    problems: list[Problem]
    flow: Any = None
    schedules: list[dict[str, Any]] = field(default_factory=list)


def list_flows(home: str | None, search: str | None = None) -> list[FlowEntry]:
    """The flow files under flows/, sorted by namespace and id; with `search`, those whose namespace or id
    contains it (case-insensitive)."""
    project = open_project(home)
    found = []
    for path in project.flow_files():
        namespace, flow_id = peek_ids(path)
        if not namespace or not flow_id:
            continue
        if search and search.lower() not in f"{namespace}.{flow_id}".lower():
            continue
        found.append(FlowEntry(namespace, flow_id, path))
    return sorted(found, key=lambda e: (e.namespace, e.flow_id))


def flow_detail(home: str | None, namespace: str, flow_id: str) -> FlowDetail:
    """The flow NAMESPACE/FLOW_ID under flows/; a UsageError when there is none."""
    from datetime import UTC, datetime

    from flowrun.app.flows import validate_paths
    from flowrun.errors import FlowrunError, InvalidFlowError
    from flowrun.load import load_flow
    from flowrun.schedule.schedule_list import flow_schedules

    project, db = project_state(home)
    path = project.find_flow(namespace, flow_id)
    if path is None:
        raise UsageError(f"no flow {namespace}/{flow_id} under {project.flows_dir}")
    entry = FlowEntry(namespace, flow_id, path)
    source = path.read_text(encoding="utf-8")
    problems = validate_paths([str(path)], home)[0][1]
    try:
        flow = load_flow(path, project.config.plugin_defaults)
    except InvalidFlowError:
        return FlowDetail(entry, source, problems)
    try:
        schedules = flow_schedules(flow, db, datetime.now(UTC), 5)
    except FlowrunError as exc:  # a cron that validates but cannot be planned: say it, show the rest
        problems = [*problems, Problem(exc.message, file=str(path))]
        schedules = []
    return FlowDetail(entry, source, problems, flow, schedules)


def page_executions(home: str | None, query: ExecutionQuery, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """Page `page` (from 1) of `size` executions matching `query`, newest first, as JSON-like dicts, and the
    total number that match."""
    import json

    _, db = project_state(home)
    rows, total = db.page_executions(query, (max(page, 1) - 1) * size, size)
    return [{"id": r["id"], "namespace": r["namespace"], "flowId": r["flow_id"], "state": r["state"],
             "startDate": r["start_date"], "endDate": r["end_date"], "labels": json.loads(r["labels"] or "[]"),
             "trigger": json.loads(r["trigger"]) if r["trigger"] else None} for r in rows], total
