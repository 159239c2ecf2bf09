"""The SQLite state store: WAL, busy timeout, BEGIN IMMEDIATE writes, ordered recorded migrations, a guarded open.

`Database` implements `flowrun.state.protocol.StateStore`: its table SQL comes from one mixin per table
family (`flowrun.state.executions`, `.claims`, `.kv`...), each of which reaches the file only through
`write()`, `query()`, `query_one()` and `conn` below. The schema is `flowrun.state.migrations` (see its
docstring for the rule that keeps one migration list valid on SQLite and Postgres).
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowrun.errors import StateError
from flowrun.state import integrity
from flowrun.state.backfills import SqliteBackfills
from flowrun.state.claims import SqliteClaims
from flowrun.state.concurrency import SqliteConcurrency
from flowrun.state.counts import SqliteCounts
from flowrun.state.dispatch import SqliteDispatch
from flowrun.state.executions import SqliteExecutions
from flowrun.state.keys import SqliteKeys
from flowrun.state.kv import SqliteKV
from flowrun.state.log_search import SqliteLogSearch
from flowrun.state.migrations import MIGRATIONS, bootstrap
from flowrun.state.pauses import SqlitePauses
from flowrun.state.processes import SqliteProcesses
from flowrun.state.purge import SqlitePurge
from flowrun.state.revisions import SqliteRevisions
from flowrun.state.task_state import SqliteTaskStates
from flowrun.state.triggers import SqliteTriggers

__all__ = ["MIGRATIONS", "Database", "connect"]


class _Translating:
    """Turns SQLite errors that mean a damaged or unwritable file into StateError (see integrity.translate)."""

    db_path: Path

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except sqlite3.Error as exc:
            error = integrity.translate(exc, self.db_path)
            if error is None:
                raise
            raise error from exc


class _Cursor(_Translating, sqlite3.Cursor):
    def __init__(self, conn: _Connection) -> None:
        super().__init__(conn)
        self.db_path = conn.db_path

    def execute(self, *args: Any) -> Any:
        return self._call(super().execute, *args)

    def executemany(self, *args: Any) -> Any:
        return self._call(super().executemany, *args)

    def fetchone(self) -> Any:
        return self._call(super().fetchone)

    def fetchmany(self, *args: Any) -> list[Any]:
        return self._call(super().fetchmany, *args)  # type: ignore[no-any-return]

    def fetchall(self) -> list[Any]:
        return self._call(super().fetchall)  # type: ignore[no-any-return]

    def __next__(self) -> Any:
        return self._call(super().__next__)


class _Connection(_Translating, sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> Any:
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> Any:
        return self.cursor().executemany(*args)


def connect(path: Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection whose damage and I/O errors are StateErrors naming `path` (never a bare DatabaseError)."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False,
                           factory=_Connection)
    conn.db_path = path  # type: ignore[attr-defined]
    conn.owner = threading.current_thread()  # type: ignore[attr-defined]
    _OPEN.add(conn)
    return conn


#: this process's open state connections, closed at exit: flowrun's program skips the interpreter's teardown,
#: and the last connection to close folds the WAL back into state.db, so that the file alone holds the whole
#: state once flowrun has exited (a copy of it loses nothing)
_OPEN: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Close this thread's connections and those of threads that ended.

    A connection another thread still runs (a daemon thread that did not stop) stays open: closing it under
    that thread's statement crashes CPython's sqlite3 (SIGSEGV, measured on 3.11). Its committed writes are
    in the WAL, which the next connection folds back. The state's own threads (heartbeat, write-behind) stop
    before this runs, so that normally every connection closes.
    """
    me = threading.current_thread()
    for conn in list(_OPEN):
        owner = getattr(conn, "owner", None)
        if owner is not None and owner is not me and owner.is_alive():
            continue
        try:
            conn.close()
        except sqlite3.Error:  # a daemon thread's statement still running: SQLite keeps the WAL, still safe
            pass


class Database(SqliteExecutions, SqliteLogSearch, SqliteConcurrency, SqliteProcesses, SqliteRevisions,
               SqliteTriggers, SqliteClaims, SqliteBackfills, SqliteKV, SqliteKeys, SqliteTaskStates, SqlitePurge,
               SqlitePauses, SqliteCounts, SqliteDispatch):
    """One SQLite file shared by every flowrun process of a project; the embedded `StateStore`.

    Reads use the thread's connection directly. Writes go through `write()`, which opens the transaction
    with BEGIN IMMEDIATE so that concurrent processes queue on the busy timeout instead of failing.

    A DB that existed is never recreated: `state.id` beside it is written when it is first migrated, and a
    missing, emptied or foreign file is refused (integrity.py). A damaged file raises DamagedStateError.
    """

    driver_errors = (sqlite3.Error,)

    def __init__(self, path: Path, busy_timeout_ms: int = 30_000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            integrity.check_before_open(path)
            self._migrate()
            integrity.write_marker(path)
        except StateError:
            self.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            damaged = integrity.translate(exc, path) if isinstance(exc, sqlite3.Error) else None
            raise damaged or StateError(f"cannot open the state database {path}: {exc}",
                                        hint="check that the state dir is writable, or pass --home") from exc

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def shared(self) -> bool:
        return False

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, timeout=self.busy_timeout_ms / 1000)
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
        """A write transaction that starts with BEGIN IMMEDIATE; inside another one, it joins it."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        self._begin_immediate(conn)
        try:
            yield conn
        except BaseException:
            self._rollback(conn)
            raise
        else:
            conn.execute("COMMIT")

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except (sqlite3.Error, StateError):  # SQLite may already have rolled back (e.g. after SQLITE_FULL)
            pass

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
        if self._up_to_date():
            return
        with self.write() as conn:
            integrity.check_schema(conn, self.path)
            for statement in bootstrap("sqlite"):
                conn.execute(statement)
            done = {row[0] for row in conn.execute("SELECT version FROM migrations")}
            pending = [migration for migration in MIGRATIONS if migration.version not in done]
            if pending and done:
                integrity.backup_before_migration(self.path)
            for migration in pending:
                for statement in migration.statements("sqlite"):
                    conn.execute(statement)
                conn.execute("INSERT INTO migrations (version, applied_at) VALUES (?, ?)",
                             (migration.version, time.time()))

    def _up_to_date(self) -> bool:
        """Every migration is recorded: a plain read, which waits for no writer (WAL), where a write transaction
        would queue behind every other process's (a backfill's workers open the DB once per execution)."""
        try:
            rows = self.conn.execute("SELECT version FROM migrations").fetchall()
        except sqlite3.OperationalError:  # no migrations table: a new DB, or not flowrun's (check_schema says)
            return False
        done = {row[0] for row in rows}
        return all(migration.version in done for migration in MIGRATIONS)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
