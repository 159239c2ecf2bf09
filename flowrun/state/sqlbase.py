"""What the table mixins need from a backend: a write transaction, reads, rows as dicts, and its locking words.

The mixins (one per table family) write their SQL once, in the subset SQLite and Postgres share: `?` and
`:name` parameters (the Postgres store translates them), `ON CONFLICT` upserts, `RETURNING`, and a `rowid`
column (SQLite's implicit one; an identity column on Postgres, see migration 0008). Where the backends must
differ to stay atomic across processes, a mixin asks its backend: `lock(conn, ...)` serializes the deciding
transactions of one thing (a no-op on SQLite, whose BEGIN IMMEDIATE already serializes every writer; a row
lock on Postgres), and `skip_locked` ends a SELECT that takes a row to work on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol


class Cursor(Protocol):
    """The part of a DB-API cursor the mixins use (sqlite3's, or the Postgres store's result)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a connection the mixins use: rows support `row[0]`, `row["column"]` and `dict(row)`."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


class SqlBase(ABC):
    """The mixins of a state store (one per table family) call only these."""

    #: appended to a SELECT that picks a row to take (a pending claim): Postgres skips rows others hold
    skip_locked = ""
    #: the driver's exception classes (what a best-effort write catches besides StateError)
    driver_errors: tuple[type[Exception], ...] = ()

    @property
    @abstractmethod
    def location(self) -> str:
        """Where this state lives, for messages."""
        ...

    @property
    @abstractmethod
    def conn(self) -> Connection:
        """This thread's connection, for reads outside a write transaction."""
        ...

    @abstractmethod
    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction; inside another one, it joins it."""
        ...

    @abstractmethod
    def query(self, sql: str, params: tuple | dict = ()) -> list[Any]:
        ...

    @abstractmethod
    def query_one(self, sql: str, params: tuple | dict = ()) -> Any | None:
        ...

    def session(self) -> AbstractContextManager[None]:
        """This thread's statements on one connection until the block ends (Postgres: one borrow from the pool,
        one check, instead of one per statement). SQLite's thread keeps its connection anyway."""
        return nullcontext()

    def lock(self, conn: Connection, *name: object) -> None:
        """Inside a write transaction: wait until no other transaction holds the lock `name`, then hold it
        until this one ends. SQLite needs none (one writer at a time)."""
        return None


def as_dict(row: Any | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


def as_dicts(rows: list[Any]) -> list[dict[str, Any]]:
    """Plain dicts of sqlite3.Row or PgRow rows (zipped in C: no per-column `row[name]` call)."""
    return [dict(zip(row.keys(), row, strict=True)) for row in rows]
