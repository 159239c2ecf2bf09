"""The state store of Kestra's `state.*` tasks: one JSON document per flow (or namespace), name and taskrun value."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flowrun.state.sqlbase import SqlBase

if TYPE_CHECKING:  # the records are made where they are used: a run without state tasks skips them
    from flowrun.state.records import StateScope, StoredState

__all__ = ["SqliteTaskStates"]

_WHERE = "namespace = ? AND flow_id = ? AND name = ? AND has_value = ? AND taskrun_value = ?"


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _params(scope: StateScope) -> tuple[str, str, str, int, str]:
    return (scope.namespace, scope.flow_id, scope.name, int(scope.value is not None), scope.value or "")


class SqliteTaskStates(SqlBase):
    """The `task_states` table: read, update (read-modify-write in one write transaction) and delete documents."""

    def read_task_state(self, scope: StateScope) -> StoredState | None:
        from flowrun.state.records import StoredState

        row = self.query_one(f"SELECT data, secret FROM task_states WHERE {_WHERE}", _params(scope))
        return StoredState(row["data"], bool(row["secret"])) if row is not None else None

    def update_task_state(self, scope: StateScope,
                          change: Callable[[StoredState | None], StoredState]) -> StoredState:
        from flowrun.state.records import StoredState

        with self.write() as conn:
            self.lock(conn, "task_state", *_params(scope))
            row = conn.execute(f"SELECT data, secret FROM task_states WHERE {_WHERE}", _params(scope)).fetchone()
            new = change(StoredState(row[0], bool(row[1])) if row is not None else None)
            conn.execute(
                "INSERT INTO task_states (namespace, flow_id, name, has_value, taskrun_value, data, secret, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, flow_id, name, has_value, "
                "taskrun_value) DO UPDATE SET data = excluded.data, secret = excluded.secret, "
                "updated_at = excluded.updated_at",
                (*_params(scope), new.data, int(new.secret), _stamp()),
            )
        return new

    def delete_task_state(self, scope: StateScope) -> bool:
        with self.write() as conn:
            return bool(conn.execute(f"DELETE FROM task_states WHERE {_WHERE}", _params(scope)).rowcount)
