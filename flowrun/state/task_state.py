"""The state store of Kestra's `state.*` tasks: one JSON document per flow (or namespace), name and taskrun value."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flowrun.state.db import Database


@dataclass(frozen=True)
class StateScope:
    """Which state document: `flow_id` is "" for a state shared by the namespace, `value` None when not
    isolated by `taskrun.value`."""

    namespace: str
    flow_id: str
    name: str
    value: str | None = None

    def key(self, flow_slug: str) -> str:
        """Kestra's key for this state (`<flow>_states_tasks-states_<name>[_<value>]`), shown as the `key` output."""
        prefix = f"{flow_slug}_" if self.flow_id else ""
        suffix = f"_{self.value}" if self.value is not None else ""
        return f"{prefix}states_tasks-states_{self.name}{suffix}"

    def _params(self) -> tuple[str, str, str, int, str]:
        return (self.namespace, self.flow_id, self.name, int(self.value is not None), self.value or "")


@dataclass(frozen=True)
class StoredState:
    """A state document as stored: JSON text (encrypted when `secret`)."""

    data: str
    secret: bool = False


_WHERE = "namespace = ? AND flow_id = ? AND name = ? AND has_value = ? AND taskrun_value = ?"


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class TaskStates:
    """Read, update (read-modify-write in one write transaction) and delete state documents."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read(self, scope: StateScope) -> StoredState | None:
        row = self.db.query_one(f"SELECT data, secret FROM task_states WHERE {_WHERE}", scope._params())
        return StoredState(row["data"], bool(row["secret"])) if row is not None else None

    def update(self, scope: StateScope, change: Callable[[StoredState | None], StoredState]) -> StoredState:
        """Replace the document by `change(current)`; concurrent updates of one document queue, none is lost."""
        with self.db.write() as conn:
            row = conn.execute(f"SELECT data, secret FROM task_states WHERE {_WHERE}", scope._params()).fetchone()
            new = change(StoredState(row[0], bool(row[1])) if row is not None else None)
            conn.execute(
                "INSERT INTO task_states (namespace, flow_id, name, has_value, taskrun_value, data, secret, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, flow_id, name, has_value, "
                "taskrun_value) DO UPDATE SET data = excluded.data, secret = excluded.secret, "
                "updated_at = excluded.updated_at",
                (*scope._params(), new.data, int(new.secret), _stamp()),
            )
        return new

    def delete(self, scope: StateScope) -> bool:
        """Delete one document; False if there was none."""
        with self.db.write() as conn:
            return bool(conn.execute(f"DELETE FROM task_states WHERE {_WHERE}", scope._params()).rowcount)
