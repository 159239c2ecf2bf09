"""Purge SQL: select finished executions by filters and delete their rows, task runs, logs and metrics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flowrun.model.execution import TERMINAL
from flowrun.state.db import Database

#: the only states an execution may be purged in; every other one (RUNNING, PAUSED, QUEUED...) is kept
FINISHED = tuple(sorted(TERMINAL))
_FINISHED_SQL = "(" + ", ".join(f"'{state}'" for state in FINISHED) + ")"
_COLUMNS = "id, namespace, flow_id, state, start_date, end_date"
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions to purge. Dates are fixed-width UTC stamps (`flowrun.cutoff.utc_stamp`).

    `ended_before`: the execution ended at or before it (executions that never started count by their
    creation). `started_after`: it started at or after it. `namespace` takes its child namespaces too unless
    `flow_id` is set (Kestra's rule). `keep_last`: the N most recent executions of each flow, whatever their
    state or date, are never purged.
    """

    ended_before: str | None = None
    started_after: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    states: tuple[str, ...] = ()
    keep_last: int = 0


@dataclass
class Selection:
    """What a filter matched: the finished executions that may go, and the unfinished ones that stay."""

    purgeable: list[dict[str, Any]] = field(default_factory=list)
    unfinished: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Deleted:
    """What `delete_executions` removed."""

    ids: list[str] = field(default_factory=list)
    executions: int = 0
    task_outputs: int = 0
    logs: int = 0
    metrics: int = 0


def _where(spec: ExecutionFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1=1"]
    params: list[Any] = []
    if spec.ended_before is not None:
        clauses.append("COALESCE(end_date, start_date, created_at) <= ?")
        params.append(spec.ended_before)
    if spec.started_after is not None:
        clauses.append("COALESCE(start_date, created_at) >= ?")
        params.append(spec.started_after)
    if spec.namespace and spec.flow_id:
        clauses.append("namespace = ?")
        params.append(spec.namespace)
    elif spec.namespace:
        clauses.append("(namespace = ? OR substr(namespace, 1, ?) = ?)")
        params += [spec.namespace, len(spec.namespace) + 1, spec.namespace + "."]
    if spec.flow_id:
        clauses.append("flow_id = ?")
        params.append(spec.flow_id)
    if spec.states:
        clauses.append(f"state IN ({', '.join('?' for _ in spec.states)})")
        params += list(spec.states)
    if spec.keep_last > 0:
        clauses.append("recency > ?")
        params.append(spec.keep_last)
    return " AND ".join(clauses), params


def select_executions(db: Database, spec: ExecutionFilter) -> Selection:
    """The executions `spec` matches, oldest first, split into purgeable (finished) and unfinished."""
    where, params = _where(spec)
    rows = db.query(
        f"SELECT {_COLUMNS}, state IN {_FINISHED_SQL} AS finished FROM ("
        f"SELECT *, rowid AS seq, ROW_NUMBER() OVER (PARTITION BY namespace, flow_id ORDER BY created_at DESC, rowid DESC) "
        f"AS recency FROM executions) WHERE {where} ORDER BY created_at, seq", tuple(params))
    selection = Selection()
    for row in rows:
        item = {"id": row["id"], "namespace": row["namespace"], "flowId": row["flow_id"], "state": row["state"],
                "startDate": row["start_date"], "endDate": row["end_date"]}
        (selection.purgeable if row["finished"] else selection.unfinished).append(item)
    return selection


def _batches(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in ids:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def delete_executions(db: Database, ids: Iterable[str], *, rows: bool = True, logs: bool = True,
                      metrics: bool = True, batch_size: int = 100) -> Deleted:
    """Delete what belongs to these executions, one transaction per batch.

    Each batch re-reads the states inside its write transaction: an execution that is no longer finished
    (a restart began meanwhile) is left alone. `Deleted.ids` lists the executions that were still finished.
    """
    result = Deleted()
    for batch in _batches(ids, max(1, batch_size)):
        with db.write() as conn:
            marks = ", ".join("?" for _ in batch)
            finished = [r[0] for r in conn.execute(
                f"SELECT id FROM executions WHERE id IN ({marks}) AND state IN {_FINISHED_SQL}", batch)]
            if not finished:
                continue
            marks = ", ".join("?" for _ in finished)
            result.ids += finished
            if logs:
                result.logs += conn.execute(f"DELETE FROM logs WHERE execution_id IN ({marks})", finished).rowcount
            if metrics:
                result.metrics += conn.execute(f"DELETE FROM metrics WHERE execution_id IN ({marks})",
                                               finished).rowcount
            if rows:
                result.task_outputs += conn.execute(
                    f"SELECT COUNT(*) FROM task_runs WHERE execution_id IN ({marks}) AND outputs NOT IN ('{{}}', '')",
                    finished).fetchone()[0]
                conn.execute(f"DELETE FROM task_runs WHERE execution_id IN ({marks})", finished)
                result.executions += conn.execute(f"DELETE FROM executions WHERE id IN ({marks})",
                                                  finished).rowcount
    return result


@dataclass(frozen=True)
class LogFilter:
    """Which log lines to purge (Kestra's PurgeLogs). Dates are UTC stamps; `end` is required.

    `namespace` and `flow_id` match through the log's execution: lines whose execution row was purged
    already match only when neither is set.
    """

    end: str
    start: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    levels: tuple[str, ...] = ()


def delete_logs(db: Database, spec: LogFilter) -> int:
    """Delete the matching log lines of finished executions; returns how many went."""
    clauses = ["timestamp <= ?", f"NOT EXISTS (SELECT 1 FROM executions e WHERE e.id = logs.execution_id "
                                 f"AND e.state NOT IN {_FINISHED_SQL})"]
    params: list[Any] = [spec.end]
    if spec.start is not None:
        clauses.append("timestamp >= ?")
        params.append(spec.start)
    if spec.execution_id:
        clauses.append("execution_id = ?")
        params.append(spec.execution_id)
    if spec.levels:
        clauses.append(f"level IN ({', '.join('?' for _ in spec.levels)})")
        params += list(spec.levels)
    scope = [(column, value) for column, value in (("namespace", spec.namespace), ("flow_id", spec.flow_id))
             if value]
    if scope:
        clauses.append("execution_id IN (SELECT id FROM executions WHERE "
                       + " AND ".join(f"{column} = ?" for column, _ in scope) + ")")
        params += [value for _, value in scope]
    with db.write() as conn:
        return int(conn.execute(f"DELETE FROM logs WHERE {' AND '.join(clauses)}", params).rowcount)
