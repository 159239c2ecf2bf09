"""Running the table mixins' SQL on psycopg: `?` and `:name` parameters rewritten, rows read like sqlite3.Row."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

#: quoted text and identifiers (left alone but for `%`), casts, then the parameters to rewrite and bare `%`
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|:[A-Za-z_]\w*|%")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite-style parameters (`?`, `:name`) to psycopg's (`%s`, `%(name)s`), with literal `%` doubled."""

    def rewrite(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({token[1:]})s"

    return _TOKENS.sub(rewrite, sql)


class PgRow(tuple):  # type: ignore[type-arg]
    """One row: `row[0]`, `row["column"]`, `dict(row)` and unpacking, as a sqlite3.Row."""

    names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


class Result:
    """A statement's rows (all fetched at once) and its row count: what a mixin reads from a cursor."""

    def __init__(self, rows: list[PgRow], rowcount: int) -> None:
        self._rows, self._next, self._rowcount = rows, 0, rowcount

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def fetchone(self) -> PgRow | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[PgRow]:
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())


def run(raw: Any, sql: str, parameters: Any = ()) -> Result:
    """Execute one statement on a psycopg connection and fetch what it returns."""
    with raw.cursor() as cursor:
        cursor.execute(translate(sql), parameters if parameters is not None else ())
        if cursor.description is None:
            return Result([], cursor.rowcount)
        names = {column.name: i for i, column in enumerate(cursor.description)}
        return Result([PgRow(values, names) for values in cursor.fetchall()], cursor.rowcount)


class PgConnection:
    """A psycopg connection inside one transaction, with the `execute`/`executemany` of sqlite3's."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Any = (), /) -> Result:
        return run(self.raw, sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Result:
        total = sum(run(self.raw, sql, each).rowcount for each in parameters)
        return Result([], total)
