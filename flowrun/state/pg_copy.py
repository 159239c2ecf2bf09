"""`flowrun state copy`: an SQLite state's whole history copied into an empty Postgres database, in one transaction.

Every table the migrations created is copied row for row (executions, task runs and their attempts, logs,
metrics, KV, revisions, trigger state, claims, backfills, pauses, task states, the key's fingerprint...),
auto-numbered ids and SQLite's row order included, so that the Postgres state reads exactly as the SQLite
one did. The target is migrated first and must hold nothing; a failure leaves it as empty as it was.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.errors import StateError, UsageError
from flowrun.state.pg_sql import run
from flowrun.state.pg_url import mask_url

#: not copied: the ledger of applied versions (the target has its own) and the Postgres-only lock rows
SKIPPED = ("migrations", "state_locks")
#: copied first, in this order (foreign keys point at them)
FIRST = ("executions",)
#: tables whose SQLite rowid is copied into the Postgres `rowid` column (migration 0008)
ROWID_TABLES = ("executions", "backfills")


@dataclass
class Copied:
    """How many rows each table received."""

    target: str
    rows: dict[str, int] = field(default_factory=dict)


def source_tables(conn: sqlite3.Connection) -> list[str]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                            "'sqlite_%' ORDER BY name") if row[0] not in SKIPPED]
    return [name for name in FIRST if name in names] + [name for name in names if name not in FIRST]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _target_columns(raw: Any, table: str) -> list[str]:
    return [row[0] for row in run(raw, "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                       "current_schema() AND table_name = ?", (table,))]


def refuse_non_empty(raw: Any, tables: list[str], url: str) -> None:
    """A UsageError when any of `tables` (or the key's fingerprint) already holds a row in the target."""
    for table in [*tables, "meta"]:
        if run(raw, f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]:  # type: ignore[index]
            raise UsageError(f"the target state {mask_url(url)} is not empty (table `{table}` has rows): "
                             "flowrun copies a history only into an empty database",
                             hint="create a new database for it (`createdb NAME`) and copy to that URL")


def _copy_table(source: sqlite3.Connection, raw: Any, table: str) -> int:
    wanted = _columns(source, table)
    present = set(_target_columns(raw, table))
    missing = [column for column in wanted if column not in present]
    if missing:
        raise StateError(f"the target has no column {table}.{missing[0]}: it was migrated by another flowrun version",
                         hint="run `flowrun state migrate` with this version against the target first")
    columns = (["rowid"] if table in ROWID_TABLES else []) + wanted
    selected = ", ".join(f'"{column}"' for column in columns)
    count = 0
    with raw.cursor().copy(f'COPY "{table}" ({selected}) FROM STDIN') as copy:
        for row in source.execute(f'SELECT {selected} FROM "{table}" ORDER BY rowid'):
            copy.write_row(row)
            count += 1
    return count


def _reset_identities(raw: Any, tables: list[str]) -> None:
    """Move each identity column's sequence past the copied values, so new rows number on from them."""
    for table, column in run(raw, "SELECT table_name, column_name FROM information_schema.columns WHERE "
                                  "table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        if table in tables:
            run(raw, f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                     f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)')


def copy_state(path: Path, url: str) -> Copied:
    """Copy every table of the SQLite state `path` (migrated) into the empty Postgres state `url`."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        source.execute("BEGIN")  # one snapshot of every table
        return _copy_all(source, url)
    except sqlite3.Error as exc:
        raise StateError(f"cannot read the SQLite state {path}: {exc}") from exc
    finally:
        source.close()


def _copy_all(source: sqlite3.Connection, url: str) -> Copied:
    from flowrun.state.postgres import connect, migrate

    result = Copied(mask_url(url))
    tables = source_tables(source)
    with connect(url) as raw:
        migrate(raw)
        with raw.transaction():
            refuse_non_empty(raw, tables, url)
            for table in tables:
                result.rows[table] = _copy_table(source, raw, table)
            _reset_identities(raw, tables)
            for table, count in result.rows.items():
                landed = run(raw, f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
                if landed != count:
                    raise StateError(f"copying {table}: {count} row(s) read but {landed} written; nothing was kept")
    return result
