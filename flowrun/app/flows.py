"""Flows: validate files, list the project's flows, load one (for graph and render), list its stored revisions
and print one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowrun.app.services import open_state
from flowrun.errors import InvalidFlowError, Problem, UsageError
from flowrun.project import open_project, resolve_flow_ref
from flowrun.state.protocol import StateStore


def validate_paths(paths: list[str], home: str | None = None) -> list[tuple[str, list[Problem]]]:
    """Validate flow files and directories; returns (file, problems) for every file checked.

    A file is valid when none of its problems is an error (warnings only)."""
    from flowrun.app.subflow_refs import check_subflows
    from flowrun.load import load_flow

    results: list[tuple[str, list[Problem]]] = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        for file in files:
            project = open_project(home, file.resolve().parent)
            try:
                flow = load_flow(file, project.config.plugin_defaults)
                warnings = flow.warnings + check_subflows(flow, project.find_flow, project.flows_dir)
                results.append((str(file), warnings))
            except InvalidFlowError as exc:
                results.append((str(file), exc.problems))
            except RecursionError:  # a structure too deep for some check: this file is invalid, go on
                results.append((str(file), [Problem("the flow is nested too deeply to be checked", file=str(file))]))
    return results


def load_flow_ref(ref: str, home: str | None = None) -> Any:
    """A validated flow named by path or NAMESPACE/FLOW_ID (for graph and render)."""
    from flowrun.load import load_flow

    path, project = resolve_flow_ref(ref, home)
    return load_flow(path, project.config.plugin_defaults)


def execution_graph(ref: str, home: str | None = None) -> tuple[Any, dict[str, str]]:
    """The flow an execution ran (its stored revision) and the state each task shows: its latest task run's
    (a loop's last iteration), as in the web UI's topology."""
    from flowrun.app.inspect import execution_flow_source, show_execution
    from flowrun.app.report import validated_revision
    from flowrun.report.palette import task_states

    data = show_execution(home, ref)
    _, source = execution_flow_source(home, data["id"])
    return validated_revision(home, source, f"execution {data['id']}"), task_states(data["taskRuns"])


def is_execution_ref(ref: str, home: str | None = None) -> bool:
    """Whether `ref` names no flow file or NAMESPACE/FLOW_ID but an execution (id or unique prefix)."""
    if Path(ref).exists() or "/" in ref or ref.endswith((".yaml", ".yml")):
        return False
    from flowrun.app.services import has_state, project_state

    if not has_state(home):  # no state, no execution (and none is created to find out)
        return False
    _, db = project_state(home)
    return db.find_execution(ref) is not None


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


def list_flows(home: str | None = None) -> list[dict[str, Any]]:
    """Every flow file under the project's flows/: namespace, id, triggers (id and type), file, whether it is
    valid (with its problems), and its revision: the stored one it is, or the latest with `changed`."""
    project = open_project(home)
    db = open_state(project)
    return [_flow_entry(path, project, db) for path in project.flow_files()]


def _flow_entry(path: Path, project: Any, db: StateStore) -> dict[str, Any]:
    from flowrun.load import load_flow, read_yaml

    problems: list[Problem] = []
    try:
        doc = load_flow(path, project.config.plugin_defaults).doc
        raw = {"namespace": doc.namespace, "id": doc.id, "triggers": doc.triggers or []}
    except InvalidFlowError as exc:
        problems = exc.problems
        try:
            data = read_yaml(path).data
        except InvalidFlowError:
            data = None
        raw = data if isinstance(data, dict) else {}
    namespace, flow_id = raw.get("namespace"), raw.get("id")
    triggers = [{"id": t.get("id"), "type": t.get("type")} for t in raw.get("triggers") or [] if isinstance(t, dict)]
    entry: dict[str, Any] = {"namespace": namespace, "id": flow_id, "file": str(path.relative_to(project.root)),
                             "valid": not problems, "problems": [str(p) for p in problems], "triggers": triggers,
                             "revision": None, "changed": False}
    if isinstance(namespace, str) and isinstance(flow_id, str):
        stored = db.list_revisions(namespace, flow_id)
        current = db.find_revision(namespace, flow_id, path.read_text(encoding="utf-8"))
        entry["revision"] = current or (stored[-1].number if stored else None)
        entry["changed"] = bool(stored) and current is None
    return entry
