"""Rows of backfills: one per `flowrun backfill` window, resumed when interrupted, with its final counts."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from flowrun.model.execution import new_id
from flowrun.state.liveness import host_name, owner_alive
from flowrun.state.sqlbase import SqlBase

if TYPE_CHECKING:
    from flowrun.state.records import Row


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _dead(row: Any) -> bool:
    """Its process is gone: by its pid on this host, by a stale heartbeat on another (a shared Postgres state)."""
    return not owner_alive(row["host"], row["pid"], row["heartbeat"])


class SqliteBackfills(SqlBase):
    """The `backfills` table; the dates themselves are schedule claims that carry the backfill id."""

    def start_backfill(self, namespace: str, flow_id: str, triggers: list[str], start: str, end: str,
                       options: dict[str, Any]) -> tuple[str, bool]:
        params = (namespace, flow_id, json.dumps(triggers), start, end, json.dumps(options, sort_keys=True))
        with self.write() as conn:
            self.lock(conn, "backfill", namespace, flow_id)
            for row in conn.execute("SELECT * FROM backfills WHERE namespace = ? AND flow_id = ? AND triggers = ? "
                                    "AND window_start = ? AND window_end = ? AND options = ? AND state IN "
                                    "('INTERRUPTED', 'RUNNING') ORDER BY created_at DESC", params).fetchall():
                if row["state"] == "RUNNING" and not _dead(row):
                    continue
                conn.execute("UPDATE backfills SET state = 'RUNNING', pid = ?, host = ?, heartbeat = ?, "
                             "ended_at = NULL WHERE id = ?", (os.getpid(), host_name(), time.time(), row["id"]))
                return row["id"], True
            backfill_id = new_id()
            conn.execute("INSERT INTO backfills (id, namespace, flow_id, triggers, window_start, window_end, options, "
                         "state, created_at, pid, host, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?)",
                         (backfill_id, *params, _stamp(), os.getpid(), host_name(), time.time()))
        return backfill_id, False

    def beat_backfill(self, backfill_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE backfills SET heartbeat = ? WHERE id = ?", (time.time(), backfill_id))

    def finish_backfill(self, backfill_id: str, state: str, total: int, succeeded: int, failed: int,
                        skipped: int) -> None:
        with self.write() as conn:
            conn.execute("UPDATE backfills SET state = ?, total = ?, succeeded = ?, failed = ?, skipped = ?, "
                         "ended_at = ? WHERE id = ?", (state, total, succeeded, failed, skipped, _stamp(), backfill_id))

    def backfill_rows(self, limit: int) -> list[Row]:
        rows = self.query("SELECT * FROM backfills ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
        return [dict(row, triggers=json.loads(row["triggers"]), options=json.loads(row["options"])) for row in rows]
