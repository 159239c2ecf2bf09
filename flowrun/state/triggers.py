"""Rows of per-trigger scheduler state: the last tick that evaluated a trigger, and stopAfter disabling."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flowrun.state.sqlbase import Connection, SqlBase, as_dict

if TYPE_CHECKING:
    from flowrun.state.records import Key, Row


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_trigger(conn: Connection, key: Key) -> Any:
    return conn.execute("SELECT * FROM trigger_state WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
                        key).fetchone()


def write_last_tick(conn: Connection, key: Key, last_tick: str) -> None:
    """Inside the caller's write transaction: record how far the trigger has been evaluated."""
    conn.execute("INSERT INTO trigger_state (namespace, flow_id, trigger_id, last_tick, updated_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, flow_id, trigger_id) DO UPDATE SET "
                 "last_tick = excluded.last_tick, updated_at = excluded.updated_at", (*key, last_tick, _stamp()))


class SqliteTriggers(SqlBase):
    """The `trigger_state` table, one row per (namespace, flow id, trigger id) once ticked or disabled."""

    def trigger_state(self, key: Key) -> Row | None:
        return as_dict(self.query_one("SELECT * FROM trigger_state WHERE namespace = ? AND flow_id = ? AND "
                                      "trigger_id = ?", key))

    def set_last_tick(self, key: Key, last_tick: str) -> None:
        with self.write() as conn:
            write_last_tick(conn, key, last_tick)

    def disable_trigger(self, key: Key, reason: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO trigger_state (namespace, flow_id, trigger_id, disabled, disabled_reason, "
                         "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (namespace, flow_id, trigger_id) DO "
                         "UPDATE SET disabled = 1, disabled_reason = excluded.disabled_reason, "
                         "updated_at = excluded.updated_at", (*key, reason, _stamp()))

    def enable_trigger(self, key: Key) -> None:
        with self.write() as conn:
            conn.execute("UPDATE trigger_state SET disabled = 0, disabled_reason = NULL, updated_at = ? WHERE "
                         "namespace = ? AND flow_id = ? AND trigger_id = ?", (_stamp(), *key))
