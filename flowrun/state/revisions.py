"""Flow revisions: each distinct source of a flow id stored once under the next number, and who ran which."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from flowrun.state.sqlbase import Connection, SqlBase

if TYPE_CHECKING:  # the records are made where they are used: a run that lists none skips them
    from flowrun.state.records import Revision

__all__ = ["SqliteRevisions", "source_hash"]


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _number_for(conn: Connection, namespace: str, flow_id: str, source: str, created_at: str) -> int:
    """The revision holding `source`, inserted as the next number when it is new."""
    digest = source_hash(source)
    row = conn.execute("SELECT revision FROM flow_revisions WHERE namespace = ? AND flow_id = ? AND source_hash = ?",
                       (namespace, flow_id, digest)).fetchone()
    if row is not None:
        return int(row[0])
    top = conn.execute("SELECT COALESCE(MAX(revision), 0) FROM flow_revisions WHERE namespace = ? AND flow_id = ?",
                       (namespace, flow_id)).fetchone()[0]
    conn.execute("INSERT INTO flow_revisions (namespace, flow_id, revision, source_hash, source, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (namespace, flow_id, top + 1, digest, source, created_at))
    return int(top) + 1


_PENDING = ("SELECT 1 FROM executions WHERE namespace = ? AND flow_id = ? AND flow_revision IS NULL "
            "AND flow_source IS NOT NULL LIMIT 1")


def _backfill(conn: Connection, namespace: str, flow_id: str) -> None:
    """Give a revision to the flow's executions recorded before revisions existed, oldest first."""
    if conn.execute(_PENDING, (namespace, flow_id)).fetchone() is None:  # the partial index answers this
        return
    rows = conn.execute("SELECT id, flow_source, created_at FROM executions WHERE namespace = ? AND flow_id = ? "
                        "AND flow_revision IS NULL AND flow_source IS NOT NULL ORDER BY created_at, rowid",
                        (namespace, flow_id)).fetchall()
    for row in rows:
        number = _number_for(conn, namespace, flow_id, row["flow_source"], row["created_at"] or _now())
        conn.execute("UPDATE executions SET flow_revision = ? WHERE id = ?", (number, row["id"]))


def _revision(row: Any) -> Revision:
    from flowrun.state.records import Revision

    return Revision(row["namespace"], row["flow_id"], int(row["revision"]), row["source_hash"], row["source"],
                    row["created_at"])


class SqliteRevisions(SqlBase):
    """The `flow_revisions` table and the `executions.flow_revision` column."""

    def record_revision(self, namespace: str, flow_id: str, source: str) -> int:
        with self.write() as conn:
            self.lock(conn, "revisions", namespace, flow_id)
            _backfill(conn, namespace, flow_id)
            return _number_for(conn, namespace, flow_id, source, _now())

    def find_revision(self, namespace: str, flow_id: str, source: str) -> int | None:
        row = self.query_one("SELECT revision FROM flow_revisions WHERE namespace = ? AND flow_id = ? AND "
                             "source_hash = ?", (namespace, flow_id, source_hash(source)))
        return int(row[0]) if row else None

    def number_old_executions(self, namespace: str, flow_id: str) -> None:
        if self.query_one(_PENDING, (namespace, flow_id)) is not None:  # cheap when none are left
            with self.write() as conn:
                self.lock(conn, "revisions", namespace, flow_id)
                _backfill(conn, namespace, flow_id)

    def get_revision(self, namespace: str, flow_id: str, number: int) -> Revision | None:
        row = self.query_one("SELECT * FROM flow_revisions WHERE namespace = ? AND flow_id = ? AND revision = ?",
                             (namespace, flow_id, number))
        return _revision(row) if row else None

    def list_revisions(self, namespace: str, flow_id: str) -> list[Revision]:
        self.number_old_executions(namespace, flow_id)
        rows = self.query("SELECT * FROM flow_revisions WHERE namespace = ? AND flow_id = ? ORDER BY revision",
                          (namespace, flow_id))
        return [_revision(row) for row in rows]

    def executions_by_revision(self, namespace: str, flow_id: str) -> dict[int, list[str]]:
        result: dict[int, list[str]] = {}
        for row in self.query("SELECT id, flow_revision FROM executions WHERE namespace = ? AND flow_id = ? "
                              "AND flow_revision IS NOT NULL ORDER BY created_at, rowid", (namespace, flow_id)):
            result.setdefault(int(row["flow_revision"]), []).append(row["id"])
        return result

    def execution_revision(self, execution_id: str) -> int | None:
        row = self.query_one("SELECT namespace, flow_id, flow_revision FROM executions WHERE id = ?", (execution_id,))
        if row is None:
            return None
        if row["flow_revision"] is None:
            self.number_old_executions(row["namespace"], row["flow_id"])
            row = self.query_one("SELECT flow_revision FROM executions WHERE id = ?", (execution_id,))
        return int(row["flow_revision"]) if row and row["flow_revision"] is not None else None

