"""`purge`: which finished executions a filter matches, and deleting them with their logs, metrics and files."""

from __future__ import annotations

from typing import Any

from flowrun.app.services import project_state


def purge_selection(home: str | None, spec: Any) -> Any:
    """The executions a `flowrun.state.purge.ExecutionFilter` matches: finished (purgeable) and unfinished."""
    _, db = project_state(home)
    return db.select_executions(spec)


def purge(home: str | None, executions: list[dict[str, Any]]) -> dict[str, int]:
    """Delete these executions (rows, task runs, logs, metrics and files); any no longer finished is kept."""
    from flowrun.storage.location import open_storage
    from flowrun.storage.purge import purge_executions

    project, db = project_state(home)
    return purge_executions(db, open_storage(project)[0], executions).counts()
