"""Per-trigger scheduler state: the last tick that evaluated a trigger, and stopAfter disabling."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from flowrun.state.db import Database

Key = tuple[str, str, str]


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read(conn: sqlite3.Connection | Database, key: Key) -> sqlite3.Row | None:
    target = conn.conn if isinstance(conn, Database) else conn
    return target.execute("SELECT * FROM trigger_state WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
                          key).fetchone()


def set_last_tick(conn: sqlite3.Connection, key: Key, last_tick: str) -> None:
    """Inside the caller's write transaction: record how far the trigger has been evaluated."""
    conn.execute("INSERT INTO trigger_state (namespace, flow_id, trigger_id, last_tick, updated_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, flow_id, trigger_id) DO UPDATE SET "
                 "last_tick = excluded.last_tick, updated_at = excluded.updated_at", (*key, last_tick, _stamp()))


def disable(db: Database, key: Key, reason: str) -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO trigger_state (namespace, flow_id, trigger_id, disabled, disabled_reason, "
                     "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (namespace, flow_id, trigger_id) DO UPDATE "
                     "SET disabled = 1, disabled_reason = excluded.disabled_reason, updated_at = excluded.updated_at",
                     (*key, reason, _stamp()))


def enable(db: Database, key: Key) -> None:
    with db.write() as conn:
        conn.execute("UPDATE trigger_state SET disabled = 0, disabled_reason = NULL, updated_at = ? WHERE "
                     "namespace = ? AND flow_id = ? AND trigger_id = ?", (_stamp(), *key))


def is_disabled(db: Database, key: Key) -> bool:
    row = read(db, key)
    return bool(row and row["disabled"])


def apply_stop_after(db: Database, key: Key, stop_after: list[str] | None, state: str, execution_id: str) -> bool:
    """Disable the trigger when its execution ended in one of `stopAfter`'s states. True when it did."""
    if not stop_after or state not in {s.upper() for s in stop_after}:
        return False
    disable(db, key, f"stopAfter: execution {execution_id} ended {state}")
    return True


def describe(row: Any) -> dict[str, Any]:
    return {"lastTick": row["last_tick"], "disabled": bool(row["disabled"]), "reason": row["disabled_reason"]}
