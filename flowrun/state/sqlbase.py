"""What the SQLite table mixins need from `Database`: a write transaction, reads, and rows as dicts."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any


class SqlBase(ABC):
    """The mixins of `flowrun.state.db.Database` (one per table family) call only these."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    @abstractmethod
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, for reads outside a write transaction."""
        ...

    @abstractmethod
    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT)."""
        ...

    @abstractmethod
    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        ...

    @abstractmethod
    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        ...


def as_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


def as_dicts(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]
