"""Which flow a restart, replay or resume runs: the execution's revision, a chosen one, or the file as it is now."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowrun.errors import InvalidFlowError, UsageError
from flowrun.model.execution import Execution
from flowrun.project import Project
from flowrun.state.protocol import StateStore

VERBS = {"restart": "restarting", "replay": "replaying", "resume": "resuming"}


@dataclass
class FlowChoice:
    flow: Any
    revision: int
    note: str | None = None


def flow_file(execution: Execution, project: Project) -> Path | None:
    """The execution's flow file if it still exists (a relative path is tried from here, then the project)."""
    if not execution.flow_path:
        return None
    path = Path(execution.flow_path)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, project.root / path]
    return next((c for c in candidates if c.is_file()), None)


def choose_flow(db: StateStore, execution: Execution, mode: str, project: Project, revision: int | None = None,
                latest: bool = False) -> FlowChoice:
    """The validated flow to continue `execution` with, its revision number, and a note when the file differs."""
    if revision is not None and latest:
        raise UsageError("--revision and --latest exclude each other", hint="pass one of them")
    if mode == "resume" and (revision is not None or latest):
        raise UsageError("resume continues the revision the execution runs; it takes no --revision or --latest")
    current = execution.flow_revision or db.execution_revision(execution.id)
    if current is None:
        raise UsageError(f"execution `{execution.id}` has no recorded flow source; it cannot be continued")
    if latest:
        return _latest(db, execution, mode, project, current)
    return _stored(db, execution, mode, project, current if revision is None else revision, revision is not None)


def _shown(execution: Execution) -> str:
    return execution.flow_path or "the flow file"


def _latest(db: StateStore, execution: Execution, mode: str, project: Project, current: int) -> FlowChoice:
    from flowrun.load import load_flow

    path = flow_file(execution, project)
    if path is None:
        raise UsageError(f"{_shown(execution)} no longer exists; --latest runs the flow file as it is now",
                         hint=f"{mode} without --latest to use the execution's revision {current}")
    flow = load_flow(path, project.config.plugin_defaults)
    _check_same_flow(flow, execution, path)
    number = db.record_revision(execution.namespace, execution.flow_id, flow.source)
    note = None if number == current else (f"note: {VERBS[mode]} with {_shown(execution)} as revision {number} "
                                           f"(the execution ran revision {current})")
    return FlowChoice(flow, number, note)


def _check_same_flow(flow: Any, execution: Execution, path: Path) -> None:
    if (flow.namespace, flow.id) != (execution.namespace, execution.flow_id):
        raise UsageError(f"{path} now defines flow {flow.namespace}/{flow.id}, not "
                         f"{execution.namespace}/{execution.flow_id}",
                         hint="run the file as a new flow with `flowrun run`, or drop --latest")


def _stored(db: StateStore, execution: Execution, mode: str, project: Project, number: int,
            chosen: bool) -> FlowChoice:
    from flowrun.load import parse_yaml
    from flowrun.validate import validate_document

    stored = db.get_revision(execution.namespace, execution.flow_id, number)
    if stored is None:
        known = [r.number for r in db.list_revisions(execution.namespace, execution.flow_id)]
        raise UsageError(f"flow {execution.namespace}/{execution.flow_id} has no revision {number}",
                         hint=f"its revisions are {', '.join(map(str, known)) or 'none'}; list them with "
                              f"`flowrun flows revisions {execution.namespace}/{execution.flow_id}`")
    flow = validate_document(parse_yaml(stored.source, _shown(execution)), project.config.plugin_defaults)
    return FlowChoice(flow, number, _drift_note(db, execution, mode, project, stored, chosen))


def _drift_note(db: StateStore, execution: Execution, mode: str, project: Project, stored: Any,
                chosen: bool) -> str | None:
    """One line when the file on disk is not the revision being run (the file's source is recorded as one)."""
    from flowrun.load import load_flow
    from flowrun.state.revisions import source_hash

    shown, verb, number = _shown(execution), VERBS[mode], stored.number
    path = flow_file(execution, project)
    if path is None:
        return f"note: {shown} no longer exists; {verb} with revision {number}" if execution.flow_path else None
    try:
        if source_hash(path.read_text(encoding="utf-8")) == stored.source_hash:
            return None
        disk = load_flow(path, project.config.plugin_defaults)
    except (OSError, UnicodeDecodeError, InvalidFlowError):
        return (f"note: {shown} changed since revision {number} and is not a valid flow now "
                f"(see `flowrun validate {shown}`); {verb} with revision {number}")
    if (disk.namespace, disk.id) != (execution.namespace, execution.flow_id):
        return (f"note: {shown} now defines flow {disk.namespace}/{disk.id}; {verb} "
                f"{execution.namespace}/{execution.flow_id} with revision {number}")
    on_disk = db.record_revision(execution.namespace, execution.flow_id, disk.source)
    switch = "" if mode == "resume" else "; use --latest to run the file"
    if chosen:
        return f"note: {shown} is revision {on_disk}; {verb} with revision {number} as asked{switch}"
    return f"note: {shown} changed since revision {number} (the file is now revision {on_disk}); " \
           f"{verb} with revision {number}{switch}"
