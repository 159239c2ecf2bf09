"""The Postgres state store: the shared table mixins on a psycopg connection pool, row locks, recorded migrations.

`PostgresStore` implements `flowrun.state.protocol.StateStore` with the same mixins as SQLite's `Database`
(their SQL is portable; `flowrun.state.pg_sql` rewrites the parameters) and the same migration list
(`flowrun.state.migrations`). What differs lives here and in `flowrun.state.pg_keys`:

- each method's transaction borrows a connection from a small pool (psycopg_pool), so any number of the
  engine's threads share a few connections;
- deciding transactions queue on a row of `state_locks` (`lock`), and a pending claim is taken with
  `FOR UPDATE SKIP LOCKED`: several processes on several machines take each claim, slot and revision once;
- migrations run in one transaction under an advisory lock, so that many processes may open a new database
  at once.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from flowrun.errors import StateError
from flowrun.state.backfills import SqliteBackfills
from flowrun.state.claims import SqliteClaims
from flowrun.state.concurrency import SqliteConcurrency
from flowrun.state.counts import SqliteCounts
from flowrun.state.executions import SqliteExecutions
from flowrun.state.kv import SqliteKV
from flowrun.state.log_search import SqliteLogSearch
from flowrun.state.migrations import MIGRATIONS, bootstrap
from flowrun.state.pauses import SqlitePauses
from flowrun.state.pg_dispatch import PgDispatch
from flowrun.state.pg_keys import PgKeys
from flowrun.state.pg_signals import AttemptSignals
from flowrun.state.pg_sql import PgConnection, PgRow, Result, run
from flowrun.state.pg_url import mask_url
from flowrun.state.processes import SqliteProcesses
from flowrun.state.purge import SqlitePurge
from flowrun.state.revisions import SqliteRevisions
from flowrun.state.task_state import SqliteTaskStates
from flowrun.state.triggers import SqliteTriggers

__all__ = ["PostgresStore", "applied_versions", "close_stores"]

#: the advisory lock key under which migrations run (any constant shared by every flowrun process)
MIGRATION_LOCK = 0x666C6F7772756E
CONNECT_TIMEOUT_S = 5
POOL_SIZE = 8

#: every store of this process not yet closed, closed at exit. Holding them here also keeps a forgotten store's
#: pool from being garbage-collected at a random moment: the collector may run in one of the pool's own threads,
#: whose `__del__` then cannot join it and prints a traceback ("cannot join current thread")
_OPEN: set[PostgresStore] = set()
#: (pid, URL) -> the store every use case and thread of this process shares (`PostgresStore.for_process`)
_SHARED: dict[tuple[int, str], PostgresStore] = {}
_SHARED_LOCK = threading.Lock()


@atexit.register
def close_stores(url: str | None = None) -> None:
    """Shut down this process's open stores (of `url` only, when given): at exit, or before a database is dropped."""
    for store in list(_OPEN):
        if store.pid == os.getpid() and (url is None or store.url == url):  # a forked child's copies are not its own
            store.shutdown()


def _unreachable(url: str, exc: Exception) -> StateError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StateError(f"cannot reach the Postgres state {mask_url(url)}: {detail}",
                      hint="check that the server runs and accepts this user, and that the database exists "
                           "(`createdb`); the URL comes from FLOWRUN_STATE or `state:` in flowrun.yaml")


def connect(url: str, autocommit: bool = True) -> psycopg.Connection:
    """One direct connection (migrations, copies), failing fast with a StateError naming the masked URL."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise _unreachable(url, exc) from None


def applied_versions(raw: Any) -> list[str]:
    """The migration versions a database recorded ([] before the first one)."""
    if run(raw, "SELECT to_regclass('migrations') IS NOT NULL").fetchone()[0] is False:  # type: ignore[index]
        return []
    return [row[0] for row in run(raw, "SELECT version FROM migrations ORDER BY version")]


def migrate(raw: Any) -> list[str]:
    """Apply the pending migrations in one transaction (queued behind any other migrator); the versions applied."""
    if {m.version for m in MIGRATIONS} <= set(applied_versions(raw)):
        return []
    with raw.transaction():
        run(raw, "SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        for statement in bootstrap("postgresql"):
            run(raw, statement)
        done = set(applied_versions(raw))
        pending = [migration for migration in MIGRATIONS if migration.version not in done]
        for migration in pending:
            for statement in migration.statements("postgresql"):
                run(raw, statement)
            run(raw, "INSERT INTO migrations (version, applied_at) VALUES (?, ?)", (migration.version, time.time()))
    return [migration.version for migration in pending]


class _Reader:
    """`store.conn` outside a transaction: each statement borrows a pooled connection (autocommit)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def execute(self, sql: str, parameters: Any = (), /) -> Result:
        with self.store._borrow() as raw:
            return run(raw, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Result:
        with self.store.write() as conn:
            return conn.executemany(sql, parameters)


class PostgresStore(SqliteExecutions, SqliteLogSearch, SqliteConcurrency, SqliteProcesses, SqliteRevisions,
                    SqliteTriggers, SqliteClaims, SqliteBackfills, SqliteKV, PgKeys, SqliteTaskStates,
                    SqlitePurge, SqlitePauses, SqliteCounts, PgDispatch):
    """Postgres state shared by every flowrun process on every machine that names the same database."""

    skip_locked = " FOR UPDATE SKIP LOCKED"
    driver_errors = (psycopg.Error,)
    APPEND_FAILED = ("(CAST(histories AS jsonb) || jsonb_build_array(jsonb_build_object('state', 'FAILED', "
                     "'date', CAST(? AS text))))::text")

    _shared_in_process = False

    def __init__(self, url: str, pool_size: int = POOL_SIZE, migrate_schema: bool = True) -> None:
        self.url = url
        self.pid = os.getpid()
        self._local = threading.local()
        with connect(url) as raw:
            try:
                if migrate_schema:
                    migrate(raw)
            except psycopg.OperationalError as exc:
                raise _unreachable(url, exc) from None
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True, timeout=30.0,
                                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                                    check=ConnectionPool.check_connection, name="flowrun-state")
        self._signals = AttemptSignals(url, CONNECT_TIMEOUT_S)
        _OPEN.add(self)

    @classmethod
    def for_process(cls, url: str) -> PostgresStore:
        """This process's store for `url`, opened and migrated on first use, then shared: a command, a web
        request or a tick date that opens the project's state borrows from one pool instead of opening its own.
        Its `close()` releases nothing (connections go back to the pool after each statement); it shuts down
        at exit. A forked child opens its own."""
        key = (os.getpid(), url)
        with _SHARED_LOCK:
            store = _SHARED.get(key)
            if store is None or store._pool.closed:
                store = _SHARED[key] = cls(url)
                store._shared_in_process = True
            return store

    @property
    def location(self) -> str:
        return mask_url(self.url)

    @property
    def shared(self) -> bool:
        return True

    @contextmanager
    def _borrow(self) -> Iterator[Any]:
        held = getattr(self._local, "held", None)
        try:
            if held is not None:
                yield held
                return
            with self._pool.connection() as raw:
                yield raw
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise _unreachable(self.url, exc) from None

    @contextmanager
    def session(self) -> Iterator[None]:
        """Every statement and transaction of this thread on one pooled connection until the block ends."""
        if getattr(self._local, "held", None) is not None:
            yield
            return
        with self._borrow() as raw:
            self._local.held = raw
            try:
                yield
            finally:
                self._local.held = None

    @property
    def conn(self) -> Any:
        active = getattr(self._local, "tx", None)
        return active if active is not None else _Reader(self)

    @contextmanager
    def write(self) -> Iterator[PgConnection]:
        """One transaction on a pooled connection; inside another one (this thread's), it joins it."""
        active = getattr(self._local, "tx", None)
        if active is not None:
            yield active
            return
        with self._borrow() as raw, raw.transaction():
            self._local.tx = PgConnection(raw)
            try:
                yield self._local.tx
            finally:
                self._local.tx = None

    def query(self, sql: str, params: tuple | dict = ()) -> list[PgRow]:
        return self.conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def query_one(self, sql: str, params: tuple | dict = ()) -> PgRow | None:
        return self.conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]

    def lock(self, conn: Any, *name: object) -> None:
        conn.execute("INSERT INTO state_locks (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name",
                     ("/".join(str(part) for part in name),))

    def close(self) -> None:
        """The protocol's release of this thread's connection: nothing is held between statements, so a store
        shared by the process stays open; one constructed directly is shut down (its owner is done with it)."""
        if not self._shared_in_process:
            self.shutdown()

    def shutdown(self) -> None:
        """Close the pool and the result listener: every connection of this store."""
        _OPEN.discard(self)
        self._signals.close()
        self._pool.close()
