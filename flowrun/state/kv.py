"""Rows of the KV store: one per (namespace, key), with its type, JSON text, secret flag and expiry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flowrun.state.sqlbase import SqlBase, as_dict, as_dicts

if TYPE_CHECKING:
    from flowrun.state.records import Row

_COLUMNS = "key, type, value, secret, expires_at, updated_at"


class SqliteKV(SqlBase):
    """Stamps are fixed-width UTC text (flowrun.storage.kv), so expiry compares as text."""

    def kv_put(self, namespace: str, key: str, kind: str, value: str, secret: bool, expires_at: str | None,
               now: str, overwrite: bool = True) -> bool:
        with self.write() as conn:
            conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ? AND expires_at <= ?", (namespace, key, now))
            if not overwrite:  # a key another process just stored is kept, on every backend
                return bool(conn.execute(
                    "INSERT INTO kv (namespace, key, type, value, secret, expires_at, updated_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO NOTHING",
                    (namespace, key, kind, value, int(secret), expires_at, now)).rowcount)
            conn.execute(
                "INSERT INTO kv (namespace, key, type, value, secret, expires_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET type = excluded.type,"
                " value = excluded.value, secret = excluded.secret, expires_at = excluded.expires_at,"
                " updated_at = excluded.updated_at",
                (namespace, key, kind, value, int(secret), expires_at, now),
            )
        return True

    def kv_row(self, namespace: str, key: str) -> Row | None:
        return as_dict(self.query_one(f"SELECT {_COLUMNS} FROM kv WHERE namespace = ? AND key = ?", (namespace, key)))

    def kv_rows(self, namespace: str, now: str) -> list[Row]:
        return as_dicts(self.query(f"SELECT {_COLUMNS} FROM kv WHERE namespace = ? AND (expires_at IS NULL OR "
                                   "expires_at > ?) ORDER BY key", (namespace, now)))

    def kv_delete(self, namespace: str, key: str, now: str) -> bool:
        with self.write() as conn:
            rows = conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ? RETURNING expires_at",
                                (namespace, key)).fetchall()
        return any(r[0] is None or r[0] > now for r in rows)

    def kv_delete_expired(self, namespace: str, key: str, expires_at: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ? AND expires_at = ?",
                         (namespace, key, expires_at))

    def kv_purge_expired(self, now: str, namespace: str | None = None) -> int:
        sql = "DELETE FROM kv WHERE expires_at <= ?" + (" AND namespace = ?" if namespace else "")
        with self.write() as conn:
            return int(conn.execute(sql, (now, namespace) if namespace else (now,)).rowcount)

    def kv_purge(self, namespace: str, now: str, expired_only: bool,
                 key_matches: Callable[[str], bool] | None) -> int:
        with self.write() as conn:
            rows = conn.execute("SELECT key, expires_at FROM kv WHERE namespace = ?", (namespace,)).fetchall()
            doomed = [row[0] for row in rows if (not expired_only or (row[1] is not None and row[1] <= now))
                      and (key_matches is None or key_matches(row[0]))]
            for key in doomed:
                conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
        return len(doomed)

    def kv_namespaces(self) -> list[str]:
        return [row[0] for row in self.query("SELECT DISTINCT namespace FROM kv ORDER BY namespace")]
