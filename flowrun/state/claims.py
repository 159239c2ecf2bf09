"""Schedule claims: one row per (flow, trigger, date), each taken by one process at a time, dead ones taken over."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowrun.state.liveness import DIED, owner, owner_alive
from flowrun.state.sqlbase import Connection, SqlBase, as_dict
from flowrun.state.triggers import read_trigger, write_last_tick

if TYPE_CHECKING:  # the records are made where they are used: a run that ticks nothing skips them
    from flowrun.state.records import Claim, DateStatus, Key, Row

FINISHED = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"})


def _execution(conn: Connection, execution_id: str | None) -> Any:
    if not execution_id:
        return None
    return conn.execute("SELECT state, error, heartbeat FROM executions WHERE id = ?", (execution_id,)).fetchone()


def is_dead(conn: Connection, row: Any) -> bool:
    """A running claim whose process is gone before its execution finished (or was reaped as dead)."""
    execution = _execution(conn, row["execution_id"])
    if execution is not None and execution["state"] in FINISHED:
        return execution["state"] == "KILLED" and execution["error"] == DIED
    heartbeat = execution["heartbeat"] if execution is not None else None
    return not owner_alive(row["claimed_host"], row["claimed_pid"], max(heartbeat or 0.0, row["claimed_at"] or 0.0))


def _take(conn: Connection, row: Any, **changes: Any) -> Claim:
    from flowrun.state.records import Claim

    pid, host, now = owner()
    values = {"status": "running", "claimed_pid": pid, "claimed_host": host, "claimed_at": now, **changes}
    sets = ", ".join(f"{k} = :{k}" for k in values)
    conn.execute(f"UPDATE schedule_claims SET {sets} WHERE id = :row_id", {**values, "row_id": row["id"]})
    return Claim.of(conn.execute("SELECT * FROM schedule_claims WHERE id = ?", (row["id"],)).fetchone())


def _status(conn: Connection, row: Any) -> DateStatus:
    from flowrun.state.records import DateStatus

    execution = _execution(conn, row["execution_id"])
    if execution is not None:
        return DateStatus(row["execution_id"], execution["state"], row["backfill_id"])
    if row["status"] == "pending" or (row["status"] == "running" and not is_dead(conn, row)):
        return DateStatus(row["execution_id"], "CREATED", row["backfill_id"])
    previous = _execution(conn, row["previous_execution_id"])
    if previous is not None:
        return DateStatus(row["previous_execution_id"], previous["state"])
    return DateStatus(None, None)


def _date_row(conn: Connection, key: Key, date: str) -> Any:
    return conn.execute("SELECT * FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND trigger_id = ? "
                        "AND date = ?", (*key, date)).fetchone()


class SqliteClaims(SqlBase):
    """The `schedule_claims` table; each take is exclusive across processes and machines: SQLite's BEGIN
    IMMEDIATE, or on Postgres a row lock (`lock`, `SELECT ... FOR UPDATE SKIP LOCKED`) and the unique date."""

    def enqueue_due(self, key: Key, flow_path: str,
                    plan: Callable[[str | None], tuple[list[str], str | None]]) -> int:
        with self.write() as conn:
            self.lock(conn, "trigger", *key)
            row = read_trigger(conn, key)
            if row is not None and row["disabled"]:
                return 0
            dates, last_tick = plan(row["last_tick"] if row is not None else None)
            if last_tick is not None:
                write_last_tick(conn, key, last_tick)
            return sum(conn.execute(
                "INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path) "
                "VALUES (?, ?, ?, ?, 'pending', 'tick', ?) ON CONFLICT (namespace, flow_id, trigger_id, date) "
                "DO NOTHING", (*key, date, flow_path)).rowcount for date in dates)

    def take_next_claim(self) -> Claim | None:
        with self.write() as conn:
            row = conn.execute("SELECT * FROM schedule_claims WHERE status = 'pending' ORDER BY date, id LIMIT 1"
                               + self.skip_locked).fetchone()
            if row is not None:
                return _take(conn, row)
            for row in conn.execute("SELECT * FROM schedule_claims WHERE status = 'running' AND source = 'tick' "
                                    "ORDER BY date, id" + self.skip_locked).fetchall():
                if not is_dead(conn, row):
                    continue
                execution = _execution(conn, row["execution_id"])
                if execution is not None and execution["state"] in FINISHED and execution["error"] != DIED:
                    conn.execute("UPDATE schedule_claims SET status = 'done' WHERE id = ?", (row["id"],))
                    continue
                return _take(conn, row, execution_id=None)
        return None

    def take_date_claim(self, key: Key, date: str, expected: str | None, source: str, flow_path: str,
                        backfill_id: str | None = None) -> Claim | None:
        with self.write() as conn:
            self.lock(conn, "claim", *key, date)
            row = _date_row(conn, key, date)
            if row is None:
                if expected is not None:
                    return None
                pid, host, now = owner()
                conn.execute(
                    "INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path, "
                    "backfill_id, claimed_pid, claimed_host, claimed_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, "
                    "?, ?)", (*key, date, source, flow_path, backfill_id, pid, host, now))
                from flowrun.state.records import Claim

                return Claim.of(_date_row(conn, key, date))
            status = _status(conn, row)
            if status.execution_id != expected or status.state == "CREATED":
                return None
            return _take(conn, row, source=source, backfill_id=backfill_id, flow_path=flow_path, execution_id=None,
                         previous_execution_id=status.execution_id)

    def link_claim(self, claim: Claim, execution_id: str) -> None:
        claim.execution_id = execution_id
        with self.write() as conn:
            conn.execute("UPDATE schedule_claims SET execution_id = ? WHERE id = ?", (execution_id, claim.id))

    def finish_claim(self, claim: Claim) -> None:
        with self.write() as conn:
            conn.execute("UPDATE schedule_claims SET status = 'done' WHERE id = ?", (claim.id,))

    def release_claim(self, claim: Claim, requeue: bool = False) -> None:
        with self.write() as conn:
            if requeue:
                conn.execute("UPDATE schedule_claims SET status = 'pending', execution_id = NULL, claimed_pid = NULL "
                             "WHERE id = ?", (claim.id,))
            elif claim.previous_execution_id is None:
                conn.execute("DELETE FROM schedule_claims WHERE id = ?", (claim.id,))
            else:
                conn.execute("UPDATE schedule_claims SET status = 'done', execution_id = ? WHERE id = ?",
                             (claim.previous_execution_id, claim.id))

    def skip_claim(self, claim: Claim) -> None:
        with self.write() as conn:
            conn.execute("UPDATE schedule_claims SET status = 'skipped' WHERE id = ?", (claim.id,))

    def record_manual_claim(self, key: Key, date: str, execution_id: str, flow_path: str) -> None:
        pid, host, now = owner()
        with self.write() as conn:
            self.lock(conn, "claim", *key, date)
            row = _date_row(conn, key, date)
            if row is None:
                conn.execute(
                    "INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path, "
                    "execution_id, claimed_pid, claimed_host, claimed_at) VALUES (?, ?, ?, ?, 'running', 'manual', "
                    "?, ?, ?, ?, ?)", (*key, date, flow_path, execution_id, pid, host, now))
            else:
                conn.execute("UPDATE schedule_claims SET status = 'running', source = 'manual', execution_id = ?, "
                             "previous_execution_id = ?, backfill_id = NULL, claimed_pid = ?, claimed_host = ?, "
                             "claimed_at = ? WHERE id = ?", (execution_id, row["execution_id"], pid, host, now, row["id"]))

    def date_statuses(self, key: Key) -> dict[str, DateStatus]:
        conn = self.conn
        rows = conn.execute("SELECT * FROM schedule_claims WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
                            key).fetchall()
        return {row["date"]: _status(conn, row) for row in rows}

    def last_run(self, key: Key) -> Row | None:
        return as_dict(self.query_one(
            "SELECT c.date, c.execution_id, e.state FROM schedule_claims c LEFT JOIN executions e "
            "ON e.id = c.execution_id WHERE c.namespace = ? AND c.flow_id = ? AND c.trigger_id = ? AND "
            "c.execution_id IS NOT NULL ORDER BY c.date DESC LIMIT 1", key))
