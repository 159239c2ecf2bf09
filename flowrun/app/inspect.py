"""`inspect`: executions, their logs and flow source, the KV store and the cached virtualenvs of a project."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flowrun.app.services import project_state
from flowrun.model.execution import TERMINAL, State
from flowrun.project import open_project


def list_executions(home: str | None, flow: str | None, state: str | None, limit: int,
                    where: ExecutionFilter | None = None) -> list[dict[str, Any]]:
    """Executions, newest first: of one flow (FLOW_ID or NAMESPACE/FLOW_ID) and in one state, when given, and
    matching `where` (a namespace and those below it, a creation window, labels)."""
    from flowrun.state.store import list_executions as query

    if state is not None:
        state = _known_state(state)
    where = where or ExecutionFilter()
    _, db = project_state(home)
    return query(db, flow, state, limit, within=where.namespace, since=_moment(where.since, "--since"),
                 until=_moment(where.until, "--until"), labels=where.labels)


@dataclass
class ExecutionFilter:
    """What `executions list` narrows to: `since`/`until` are ISO dates or datetimes (UTC when naive), or an
    ISO-8601 duration (P7D, PT1H) meaning that long ago."""

    namespace: str | None = None
    since: str | None = None
    until: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def _moment(text: str | None, option: str) -> str | None:
    """`text` as the UTC ISO string the store compares; a UsageError for one that is neither a date nor a
    duration."""
    from datetime import UTC, datetime

    from flowrun.errors import UsageError
    from flowrun.model.execution import iso, utcnow

    if text is None:
        return None
    if text.upper().startswith("P"):
        from flowrun.durations import parse_duration

        try:
            return iso(utcnow() - parse_duration(text))
        except (ValueError, OverflowError):
            pass
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        except ValueError:
            pass
    raise UsageError(f"{option} `{text}` is neither a date nor a duration",
                     hint="use e.g. 2019-03-01, 2019-03-01T09:00:00Z or P7D (7 days ago), PT2H (2 hours ago)")


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
#: the states after which an execution writes no more logs (until it is resumed or restarted)
ENDED = TERMINAL | {State.PAUSED}


def execution_logs(home: str | None, execution_id: str, task_id: str | None = None,
                   level: str | None = None) -> list[dict[str, Any]]:
    """An execution's log lines, oldest first: only one task's with `task_id`, only `level` and above.

    A task id the execution has no task run of, or an unknown level, is a UsageError."""
    from flowrun.state.store import get_logs

    _check_level(level)
    _, db = project_state(home)
    lines = get_logs(db, execution_id, task_id)
    if task_id and not lines:
        _check_task(db, execution_id, task_id)
    return _at_level(lines, level)


def follow_logs(home: str | None, execution_id: str, task_id: str | None = None, level: str | None = None,
                poll_seconds: float = 0.2) -> Iterator[dict[str, Any]]:
    """An execution's log lines as they are written, until it ends (or pauses); the execution of a process
    that died is marked KILLED on the way, so following it ends too. Each poll reads only the rows written
    since the last one (`log_rows_after`)."""
    import time

    from flowrun.state.store import find_execution_row, reap_dead

    _check_level(level)
    _, db = project_state(home)
    full_id, after, reaped, matched = find_execution_row(db, execution_id)["id"], 0, time.monotonic(), False
    while True:
        state = find_execution_row(db, full_id)["state"]  # before the logs: the last read holds them all
        for row in _rows_after(db, full_id, after):
            after = int(row["id"])
            if task_id and row["task_id"] != task_id:
                continue
            matched = True
            yield from _at_level([row], level)
        if state in ENDED:
            break
        time.sleep(poll_seconds)
        if time.monotonic() - reaped > 5:
            reap_dead(db)
            reaped = time.monotonic()
    if task_id and not matched:
        _check_task(db, full_id, task_id)


#: how many log rows one read of `follow_logs` takes
FOLLOW_BATCH = 500


def _rows_after(db: Any, execution_id: str, after_id: int) -> Iterator[dict[str, Any]]:
    """The log rows of an execution with an id above `after_id`, oldest first, read a batch at a time."""
    while True:
        rows = db.log_rows_after(execution_id, after_id, FOLLOW_BATCH)
        yield from rows
        if len(rows) < FOLLOW_BATCH:
            return
        after_id = int(rows[-1]["id"])


def followed_state(home: str | None, execution_id: str) -> str:
    """The state an execution is in now (after following its logs)."""
    from flowrun.state.store import find_execution_row

    _, db = project_state(home)
    return str(find_execution_row(db, execution_id)["state"])


def _check_level(level: str | None) -> None:
    from flowrun.errors import UsageError

    if level is not None and level.upper() not in LEVELS:
        raise UsageError(f"unknown log level `{level}`", hint=f"use one of {', '.join(LEVELS)}")


def _check_task(db: Any, execution_id: str, task_id: str) -> None:
    """A UsageError naming the execution's tasks when none of its task runs is of `task_id`."""
    from flowrun.errors import UsageError
    from flowrun.state.store import get_execution

    known = sorted({tr["taskId"] for tr in get_execution(db, execution_id, lambda d: d)["taskRuns"]})
    if task_id not in known:
        raise UsageError(f"execution `{execution_id}` has no task `{task_id}`",
                         hint=f"its tasks: {', '.join(known) or 'none'}")


def _at_level(lines: list[dict[str, Any]], level: str | None) -> list[dict[str, Any]]:
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
    """The project's KV store (`flowrun.storage.kv.KVStore`), its cipher checked against the state's key."""
    from flowrun.engine.services import checked_cipher
    from flowrun.storage.kv import KVStore

    project, db = project_state(home)
    return KVStore(db, checked_cipher(project, db))


def list_venvs(home: str | None) -> list[dict[str, Any]]:
    """The cached virtualenvs of script tasks: key, path, python, requirements, size, last use."""
    from flowrun.scripts.venv_cache import list_venvs as cached

    return cached(open_project(home).home)


def prune_venvs(home: str | None, older_than: timedelta | None = None) -> list[str]:
    """Remove the cached virtualenvs unused for `older_than` (all when None); returns their keys."""
    from flowrun.scripts.venv_cache import prune_venvs as prune

    return prune(open_project(home).home, older_than)
