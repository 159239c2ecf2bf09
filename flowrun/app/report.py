"""`report`: everything one execution's report shows: the execution (secrets masked), its logs and its flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the state LogFollower reports for an execution whose row is gone (purged while followed)
GONE = "UNKNOWN"


@dataclass
class ExecutionReport:
    """An execution as `show_execution` gives it, its log lines, and the validated flow of its revision (None
    when no source was recorded or it no longer validates)."""

    execution: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)
    flow: Any = None
    source: str | None = None


def execution_report(home: str | None, execution_id: str, with_logs: bool = True) -> ExecutionReport:
    """The report of one execution (a unique id prefix is enough); without its logs when `with_logs` is
    false (a live page redrawing its state reads only the new lines)."""
    from flowrun.app.inspect import execution_flow_source, execution_logs, show_execution
    from flowrun.errors import FlowrunError

    data = show_execution(home, execution_id)
    logs = execution_logs(home, data["id"]) if with_logs else []
    try:
        _, source = execution_flow_source(home, data["id"])
    except FlowrunError:
        return ExecutionReport(data, logs)
    return ExecutionReport(data, logs, revision_flow(home, source), source)


def revision_flow(home: str | None, source: str) -> Any:
    """A stored flow source validated (plugin defaults applied); None when it no longer validates."""
    from flowrun.errors import FlowrunError

    try:
        return validated_revision(home, source, "revision")
    except FlowrunError:
        return None


def validated_revision(home: str | None, source: str, name: str) -> Any:
    """A stored flow source validated with the project's plugin defaults; an InvalidFlowError naming `name`."""
    from flowrun.load import parse_yaml
    from flowrun.project import open_project
    from flowrun.validate import validate_document

    return validate_document(parse_yaml(source, name), open_project(home).config.plugin_defaults)


class LogFollower:
    """Reads an execution's new log lines and its state, over one opened state store (for a live page)."""

    def __init__(self, home: str | None, execution_id: str) -> None:
        from flowrun.app.services import project_state
        from flowrun.state.store import find_execution_row

        _, self.db = project_state(home)
        self.execution_id = str(find_execution_row(self.db, execution_id)["id"])

    def poll(self, after_id: int, limit: int = 500) -> tuple[list[dict[str, Any]], str]:
        """The log rows after `after_id` (oldest first) and the execution's state now.

        The state is read first: an ended state comes with every line written before it, since the recorder
        commits an execution's end with the lines it held, and the rows are read after it."""
        row = self.db.find_execution(self.execution_id)
        rows = self.db.log_rows_after(self.execution_id, after_id, limit)
        return rows, str(row["state"]) if row else GONE

    def close(self) -> None:
        self.db.close()


def execution_file(home: str | None, execution_id: str, uri: str) -> Path:
    """The local file behind one of the execution's `kestra://` URIs; a StorageError for a URI outside the
    execution's own storage prefix, or whose file resolves outside the storage root (`..`, absolute keys and
    symlinks out are refused)."""
    from flowrun.app.services import project_state
    from flowrun.state.store import find_execution_row
    from flowrun.storage.backend import StorageError
    from flowrun.storage.internal import execution_prefix
    from flowrun.storage.location import open_storage

    project, db = project_state(home)
    row = find_execution_row(db, execution_id)
    storage, _ = open_storage(project)
    path = storage.local_path(uri, allowed_prefix=execution_prefix(row["namespace"], row["flow_id"], row["id"]))
    root = Path(storage.location).resolve() if storage.backend.local_file("") is not None else None
    if root is not None and not path.resolve().is_relative_to(root):
        raise StorageError(f"`{uri}` resolves outside the internal storage root {root}")
    return path
