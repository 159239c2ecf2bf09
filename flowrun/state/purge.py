"""Purge: select finished executions by filters and delete their rows, task runs, logs and metrics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flowrun.model.execution import TERMINAL
from flowrun.state.executions import namespace_clause
from flowrun.state.sqlbase import SqlBase

if TYPE_CHECKING:  # the records are made where they are used: a run that purges nothing skips them
    from flowrun.state.records import Deleted, ExecutionFilter, LogFilter, Selection

__all__ = ["FINISHED", "LOG_LEVELS", "SqlitePurge"]

#: the only states an execution may be purged in; every other one (RUNNING, PAUSED, QUEUED...) is kept
FINISHED = tuple(sorted(TERMINAL))
_FINISHED_SQL = "(" + ", ".join(f"'{state}'" for state in FINISHED) + ")"
_COLUMNS = "id, namespace, flow_id, state, start_date, end_date"
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


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
        clause, more = namespace_clause(spec.namespace)
        clauses.append(clause)
        params += more
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


def _batches(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in ids:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class SqlitePurge(SqlBase):
    """Deleting finished executions and their rows in batches, and old log lines."""

    def select_executions(self, spec: ExecutionFilter) -> Selection:
        """The executions `spec` matches, oldest first, split into purgeable (finished) and unfinished."""
        from flowrun.state.records import Selection

        where, params = _where(spec)
        rows = self.query(
            f"SELECT {_COLUMNS}, state IN {_FINISHED_SQL} AS finished FROM ("
            f"SELECT *, rowid AS seq, ROW_NUMBER() OVER (PARTITION BY namespace, flow_id ORDER BY created_at DESC, rowid DESC) "
            f"AS recency FROM executions) AS ranked WHERE {where} ORDER BY created_at, seq", tuple(params))
        selection = Selection()
        for row in rows:
            item = {"id": row["id"], "namespace": row["namespace"], "flowId": row["flow_id"], "state": row["state"],
                    "startDate": row["start_date"], "endDate": row["end_date"]}
            (selection.purgeable if row["finished"] else selection.unfinished).append(item)
        return selection

    def delete_executions(self, ids: Iterable[str], *, rows: bool = True, logs: bool = True,
                          metrics: bool = True, batch_size: int = 100) -> Deleted:
        """Delete what belongs to these executions, one transaction per batch.

        Each batch re-reads the states inside its write transaction: an execution that is no longer finished
        (a restart began meanwhile) is left alone. `Deleted.ids` lists the executions that were still finished.
        """
        from flowrun.state.records import Deleted

        result = Deleted()
        for batch in _batches(ids, max(1, batch_size)):
            with self.write() as conn:
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

    def delete_logs(self, spec: LogFilter) -> int:
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
        with self.write() as conn:
            return int(conn.execute(f"DELETE FROM logs WHERE {' AND '.join(clauses)}", params).rowcount)

