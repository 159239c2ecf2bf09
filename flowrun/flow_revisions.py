"""Reading a flow's stored revisions for the CLI: its list, one revision's source, the one an execution runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowrun.api import open_state
from flowrun.errors import InvalidFlowError, Problem, UsageError
from flowrun.project import open_project, resolve_flow_ref
from flowrun.state.protocol import StateStore


def _revision_target(ref: str, home: str | None) -> tuple[str, str, Path | None, StateStore]:
    """(namespace, flow id, its file if any, db) for a flow file or NAMESPACE/FLOW_ID."""
    from flowrun.load import read_yaml

    if Path(ref).is_file() or ref.endswith((".yaml", ".yml")):
        path, project = resolve_flow_ref(ref, home)
        data = read_yaml(path).data
        ids = (data.get("namespace"), data.get("id")) if isinstance(data, dict) else (None, None)
        if not all(isinstance(v, str) for v in ids):
            raise InvalidFlowError([Problem("the flow has no namespace and id", file=str(path))])
        return str(ids[0]), str(ids[1]), path, open_state(project)
    if "/" not in ref:
        raise UsageError(f"`{ref}` is neither a flow file nor NAMESPACE/FLOW_ID", hint="e.g. zoomcamp/hello")
    project = open_project(home)
    namespace, _, flow_id = ref.rpartition("/")
    return namespace, flow_id, project.find_flow(namespace, flow_id), open_state(project)


def flow_revisions(home: str | None, ref: str) -> dict[str, Any]:
    """A flow's revisions (number, date, source hash, executions) and which one the file on disk is."""
    namespace, flow_id, path, db = _revision_target(ref, home)
    revisions = db.list_revisions(namespace, flow_id)
    if not revisions and path is None:
        raise UsageError(f"no revisions of flow {namespace}/{flow_id}",
                         hint="a flow gets its first revision when it runs")
    used = db.executions_by_revision(namespace, flow_id)
    source = path.read_text(encoding="utf-8") if path else None
    return {"namespace": namespace, "flowId": flow_id, "file": str(path) if path else None,
            "fileRevision": db.find_revision(namespace, flow_id, source) if source is not None else None,
            "revisions": [{"revision": r.number, "created": r.created_at, "hash": r.source_hash,
                           "executions": used.get(r.number, [])} for r in revisions]}


def revision_source(home: str | None, ref: str, number: int) -> str:
    """The flow source stored as revision `number`."""
    namespace, flow_id, _, db = _revision_target(ref, home)
    stored = db.get_revision(namespace, flow_id, number)
    if stored is None:
        known = ", ".join(str(r.number) for r in db.list_revisions(namespace, flow_id)) or "none"
        raise UsageError(f"flow {namespace}/{flow_id} has no revision {number}", hint=f"its revisions: {known}")
    return stored.source


def execution_flow_source(home: str | None, execution_id: str) -> tuple[int, str]:
    """The revision number an execution runs and that revision's flow source."""
    from flowrun.state.store import find_execution_row

    db = open_state(open_project(home))
    row = find_execution_row(db, execution_id)
    number = db.execution_revision(row["id"])
    stored = db.get_revision(row["namespace"], row["flow_id"], number) if number else None
    if number is None or stored is None:
        raise UsageError(f"execution `{row['id']}` has no recorded flow source")
    return number, stored.source
