"""`inspect`: executions, their logs and flow source, the KV store and the cached virtualenvs of a project."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flowrun.app.services import project_state
from flowrun.project import open_project


def list_executions(home: str | None, flow: str | None, state: str | None, limit: int) -> list[dict[str, Any]]:
    """Executions, newest first: of one flow (FLOW_ID or NAMESPACE/FLOW_ID) and in one state, when given."""
    from flowrun.state.store import list_executions as query

    if state is not None:
        state = _known_state(state)
    _, db = project_state(home)
    return query(db, flow, state, limit)


def _known_state(state: str) -> str:
    """The state name upper-cased; UsageError naming the closest state for one that does not exist."""
    import difflib

    from flowrun.errors import UsageError
    from flowrun.model.execution import STATES

    if state.upper() in STATES:
        return state.upper()
    close = difflib.get_close_matches(state.upper(), STATES, n=1)
    raise UsageError(f"unknown state `{state}`" + (f"; did you mean {close[0]}?" if close else ""),
                     hint=f"the states: {', '.join(STATES)}")


def show_execution(home: str | None, execution_id: str) -> dict[str, Any]:
    """One execution (a unique id prefix is enough) with its task runs; secret values masked."""
    from flowrun.crypto import mask_sealed
    from flowrun.state.store import get_execution

    _, db = project_state(home)
    data = get_execution(db, execution_id, mask_sealed)
    if data["flowRevision"] is None:
        data["flowRevision"] = db.execution_revision(data["id"])
    return data


LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


def execution_logs(home: str | None, execution_id: str, task_id: str | None = None,
                   level: str | None = None) -> list[dict[str, Any]]:
    """An execution's log lines, oldest first: only one task's with `task_id`, only `level` and above.

    A task id the execution has no task run of, or an unknown level, is a UsageError."""
    from flowrun.errors import UsageError
    from flowrun.state.store import get_execution, get_logs

    if level is not None and level.upper() not in LEVELS:
        raise UsageError(f"unknown log level `{level}`", hint=f"use one of {', '.join(LEVELS)}")
    _, db = project_state(home)
    lines = get_logs(db, execution_id, task_id)
    if task_id and not lines:
        known = sorted({tr["taskId"] for tr in get_execution(db, execution_id, lambda d: d)["taskRuns"]})
        if task_id not in known:
            raise UsageError(f"execution `{execution_id}` has no task `{task_id}`",
                             hint=f"its tasks: {', '.join(known) or 'none'}")
    if level is None:
        return lines
    rank = {name: i for i, name in enumerate(LEVELS)}
    return [line for line in lines if rank.get(str(line["level"]).upper(), 2) >= rank[level.upper()]]


def execution_flow_source(home: str | None, execution_id: str) -> tuple[int, str]:
    """The revision number an execution runs and that revision's flow source."""
    from flowrun.errors import UsageError
    from flowrun.state.store import find_execution_row

    _, db = project_state(home)
    row = find_execution_row(db, execution_id)
    number = db.execution_revision(row["id"])
    stored = db.get_revision(row["namespace"], row["flow_id"], number) if number else None
    if number is None or stored is None:
        raise UsageError(f"execution `{row['id']}` has no recorded flow source")
    return number, stored.source


def kv_store(home: str | None) -> Any:
    """The project's KV store (`flowrun.storage.kv.KVStore`)."""
    from flowrun.crypto import Cipher
    from flowrun.storage.kv import KVStore

    project, db = project_state(home)
    return KVStore(db, Cipher(project.home))


def list_venvs(home: str | None) -> list[dict[str, Any]]:
    """The cached virtualenvs of script tasks: key, path, python, requirements, size, last use."""
    from flowrun.scripts.venv_cache import list_venvs as cached

    return cached(open_project(home).home)


def prune_venvs(home: str | None, older_than: timedelta | None = None) -> list[str]:
    """Remove the cached virtualenvs unused for `older_than` (all when None); returns their keys."""
    from flowrun.scripts.venv_cache import prune_venvs as prune

    return prune(open_project(home).home, older_than)
