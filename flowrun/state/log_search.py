"""Finding the log lines of one execution of one flow, at or above a level, optionally of some tasks only."""

from __future__ import annotations

from typing import Any

from flowrun.state.sqlbase import SqlBase, as_dicts

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

_SELECT = ("SELECT e.namespace, e.flow_id, l.task_id, l.execution_id, l.task_run_id, l.attempt, l.timestamp, "
           "l.level, l.message FROM logs l JOIN executions e ON e.id = l.execution_id "
           "WHERE l.execution_id = ? AND e.namespace = ? AND e.flow_id = ?")


class SqliteLogSearch(SqlBase):
    """Reads for Kestra's log.Fetch: the `logs` rows joined to their execution."""

    def execution_exists(self, namespace: str, flow_id: str, execution_id: str) -> bool:
        row = self.query_one("SELECT 1 FROM executions WHERE id = ? AND namespace = ? AND flow_id = ?",
                             (execution_id, namespace, flow_id))
        return row is not None

    def find_logs(self, namespace: str, flow_id: str, execution_id: str, min_level: str,
                  task_ids: list[str] | None = None) -> list[dict[str, Any]]:
        levels = LEVELS[LEVELS.index(min_level):] if min_level in LEVELS else LEVELS
        marks = ", ".join("?" for _ in levels)
        base = f"{_SELECT} AND l.level IN ({marks})"
        params: list[Any] = [execution_id, namespace, flow_id, *levels]
        if not task_ids:
            return as_dicts(self.query(base + " ORDER BY l.id", tuple(params)))
        found: list[dict[str, Any]] = []
        for task_id in task_ids:
            found += as_dicts(self.query(base + " AND l.task_id = ? ORDER BY l.id", (*params, task_id)))
        return found
