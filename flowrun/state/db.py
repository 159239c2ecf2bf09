"""The SQLite connection: WAL, busy timeout, BEGIN IMMEDIATE writes, ordered recorded migrations, a guarded open."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowrun.errors import StateError
from flowrun.state import integrity

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE executions (
            id TEXT PRIMARY KEY,
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at TEXT NOT NULL,
            start_date TEXT,
            end_date TEXT,
            inputs TEXT NOT NULL DEFAULT '{}',
            outputs TEXT NOT NULL DEFAULT '{}',
            labels TEXT NOT NULL DEFAULT '[]',
            trigger TEXT,
            variables TEXT NOT NULL DEFAULT '{}',
            histories TEXT NOT NULL DEFAULT '[]',
            parent_id TEXT,
            original_id TEXT,
            flow_path TEXT,
            flow_source TEXT,
            pid INTEGER,
            host TEXT,
            heartbeat REAL,
            error TEXT
        );
        CREATE INDEX executions_flow ON executions(namespace, flow_id, created_at);
        CREATE INDEX executions_state ON executions(state);
        CREATE TABLE task_runs (
            id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            task_id TEXT NOT NULL,
            task_type TEXT,
            parent_task_run_id TEXT,
            value TEXT,
            iteration INTEGER,
            state TEXT NOT NULL,
            start_date TEXT,
            end_date TEXT,
            outputs TEXT NOT NULL DEFAULT '{}',
            attempts TEXT NOT NULL DEFAULT '[]',
            error TEXT
        );
        CREATE INDEX task_runs_execution ON task_runs(execution_id, seq);
        CREATE TABLE logs (
            id INTEGER PRIMARY KEY,
            execution_id TEXT NOT NULL,
            task_run_id TEXT,
            task_id TEXT,
            attempt INTEGER,
            level TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX logs_execution ON logs(execution_id, id);
        CREATE TABLE metrics (
            id INTEGER PRIMARY KEY,
            execution_id TEXT NOT NULL,
            task_run_id TEXT,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            value REAL NOT NULL,
            tags TEXT NOT NULL DEFAULT '{}',
            timestamp TEXT NOT NULL
        );
        CREATE TABLE kv (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            expires_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, key)
        );
        """,
    ),
    (
        "0002_schedules",
        """
        CREATE TABLE trigger_state (
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            trigger_id TEXT NOT NULL,
            last_tick TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            disabled_reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, flow_id, trigger_id)
        );
        CREATE TABLE schedule_claims (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            trigger_id TEXT NOT NULL,
            date TEXT NOT NULL,
            status TEXT NOT NULL,
            source TEXT NOT NULL,
            execution_id TEXT,
            previous_execution_id TEXT,
            backfill_id TEXT,
            flow_path TEXT,
            claimed_pid INTEGER,
            claimed_host TEXT,
            claimed_at REAL,
            UNIQUE (namespace, flow_id, trigger_id, date)
        );
        CREATE INDEX schedule_claims_status ON schedule_claims(status);
        CREATE TABLE backfills (
            id TEXT PRIMARY KEY,
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            triggers TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            options TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL,
            total INTEGER NOT NULL DEFAULT 0,
            succeeded INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            ended_at TEXT,
            pid INTEGER,
            host TEXT
        )
        """,
    ),
    (
        "0003_flow_revisions",
        """
        CREATE TABLE flow_revisions (
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            source_hash TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (namespace, flow_id, revision),
            UNIQUE (namespace, flow_id, source_hash)
        );
        ALTER TABLE executions ADD COLUMN flow_revision INTEGER;
        CREATE INDEX executions_unrevised ON executions(namespace, flow_id)
            WHERE flow_revision IS NULL AND flow_source IS NOT NULL
        """,
    ),
    (
        "0004_kv_secret",  # a KV value set from a secret (or with `kv set --secret`) is stored encrypted
        "ALTER TABLE kv ADD COLUMN secret INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "0005_task_processes",
        """
        CREATE TABLE task_processes (
            id INTEGER PRIMARY KEY,
            execution_id TEXT NOT NULL,
            task_run_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            attempt INTEGER,
            host TEXT NOT NULL,
            pgid INTEGER NOT NULL,
            leader_identity TEXT NOT NULL,
            runner_pid INTEGER NOT NULL,
            runner_identity TEXT NOT NULL,
            started_at REAL NOT NULL
        );
        CREATE INDEX task_processes_host ON task_processes(host, runner_pid);
        CREATE INDEX task_processes_execution ON task_processes(execution_id)
        """,
    ),
    (
        "0006_task_states",  # the state store of Kestra's state.Get/Set/Delete tasks (flowrun/state/task_state.py)
        """
        CREATE TABLE task_states (
            namespace TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            name TEXT NOT NULL,
            has_value INTEGER NOT NULL,
            taskrun_value TEXT NOT NULL,
            data TEXT NOT NULL,
            secret INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, flow_id, name, has_value, taskrun_value)
        )
        """,
    ),
]


# Tables the open path itself needs, created before (and outside) the ordered migrations.
BOOTSTRAP = (
    "CREATE TABLE IF NOT EXISTS migrations (version TEXT PRIMARY KEY, applied_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
)


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
    return conn


class Database:
    """One SQLite file shared by every flowrun process of a project.

    Reads use the thread's connection directly. Writes go through `write()`, which opens the transaction
    with BEGIN IMMEDIATE so that concurrent processes queue on the busy timeout instead of failing.

    A DB that existed is never recreated: `state.id` beside it is written when it is first migrated, and a
    missing, emptied or foreign file is refused (integrity.py). A damaged file raises DamagedStateError.
    """

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
        with self.write() as conn:
            integrity.check_schema(conn, self.path)
            for statement in BOOTSTRAP:
                conn.execute(statement)
            done = {row[0] for row in conn.execute("SELECT version FROM migrations")}
            pending = [(version, script) for version, script in MIGRATIONS if version not in done]
            if pending and done:
                integrity.backup_before_migration(self.path)
            for version, script in pending:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO migrations (version, applied_at) VALUES (?, ?)", (version, time.time()))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
