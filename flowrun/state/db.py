"""The SQLite state store: WAL, busy timeout, BEGIN IMMEDIATE writes, ordered recorded migrations.

`Database` implements `flowrun.state.protocol.StateStore`: its table SQL comes from one mixin per table
family (`flowrun.state.executions`, `.claims`, `.kv`...), each of which reaches the file only through
`write()`, `query()`, `query_one()` and `conn` below. The schema is `flowrun.state.migrations` (see its
docstring for the rule that keeps one migration list valid on SQLite and Postgres).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowrun.errors import StateError
from flowrun.state.backfills import SqliteBackfills
from flowrun.state.claims import SqliteClaims
from flowrun.state.concurrency import SqliteConcurrency
from flowrun.state.executions import SqliteExecutions
from flowrun.state.kv import SqliteKV
from flowrun.state.migrations import LEDGER, MIGRATIONS, render
from flowrun.state.processes import SqliteProcesses
from flowrun.state.purge import SqlitePurge
from flowrun.state.revisions import SqliteRevisions
from flowrun.state.triggers import SqliteTriggers

__all__ = ["MIGRATIONS", "Database"]


class Database(SqliteExecutions, SqliteConcurrency, SqliteProcesses, SqliteRevisions, SqliteTriggers, SqliteClaims,
               SqliteBackfills, SqliteKV, SqlitePurge):
    """One SQLite file shared by every flowrun process of a project; the embedded `StateStore`.

    Reads use the thread's connection directly. Writes go through `write()`, which opens the transaction
    with BEGIN IMMEDIATE so that concurrent processes queue on the busy timeout instead of failing.
    """

    def __init__(self, path: Path, busy_timeout_ms: int = 30_000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open the state database {path}: {exc}",
                             hint="check that the state dir is writable, or pass --home") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that starts with BEGIN IMMEDIATE."""
        conn = self.conn
        self._begin_immediate(conn)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StateError(f"state database {self.path} is busy: {exc}") from exc
                time.sleep(0.01)

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def _migrate(self) -> None:
        with self.write() as conn:
            for statement in render(LEDGER, "sqlite"):
                conn.execute(statement)
            done = {row[0] for row in conn.execute("SELECT version FROM migrations")}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration.statements("sqlite"):
                    conn.execute(statement)
                conn.execute("INSERT INTO migrations (version, applied_at) VALUES (?, ?)",
                             (migration.version, time.time()))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
