"""Guarding the state DB file: its birth marker, damage detection, the pre-migration backup and integrity checks."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from flowrun.errors import StateError

# SQLite's primary result codes (https://sqlite.org/rescode.html) that mean the file itself is damaged,
# and those that mean the disk or its permissions refused the I/O.
_DAMAGED = {11: "SQLITE_CORRUPT", 26: "SQLITE_NOTADB"}
_IO = {3: "SQLITE_PERM", 8: "SQLITE_READONLY", 10: "SQLITE_IOERR", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN"}


class DamagedStateError(StateError):
    """The state DB file is corrupt, missing, emptied or not a flowrun state DB: flowrun refuses to touch it."""


def marker_path(db_path: Path) -> Path:
    """`state.id` beside `state.db`: written once the DB exists, it proves that a DB was there."""
    return db_path.with_suffix(".id")


def backup_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".bak")


def recover_hint(db_path: Path) -> str:
    """What to do about a damaged DB: recover it with the sqlite3 shell, or put the backup back."""
    recovered = db_path.with_name(db_path.stem + "-recovered.db")
    hint = (f"stop every flowrun process and copy what is readable with the sqlite3 shell: `sqlite3 {db_path} "
            f"\".recover\" | sqlite3 {recovered}` (use \".dump\" if this sqlite3 has no .recover); check the copy "
            f"with `flowrun state check --db {recovered}`, move the damaged {db_path.name} and its -wal and -shm "
            f"files aside, and rename the copy to {db_path.name}")
    backup = backup_path(db_path)
    if backup.is_file():
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
        hint += f"; or restore the copy taken before the last schema migration: {backup} ({stamp})"
    return hint


def translate(exc: sqlite3.Error, db_path: Path) -> StateError | None:
    """The StateError that says what a damaged or unwritable DB means; None for any other SQLite error."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _DAMAGED or "malformed" in str(exc):
        return DamagedStateError(f"the state database {db_path} is damaged: {exc}", hint=recover_hint(db_path))
    if code in _IO:
        return StateError(f"cannot use the state database {db_path}: {exc}",
                          hint="check that the state dir is writable and its disk has free space, or pass --home")
    return None


def refuse_lost(db_path: Path, what: str) -> DamagedStateError:
    """The error for a DB that existed (its marker says so) but whose content is gone."""
    home = db_path.parent
    return DamagedStateError(
        f"the state database {db_path} {what}, but {marker_path(db_path).name} shows that it held this "
        "project's state (executions, KV, schedules); flowrun will not silently start a new one",
        hint=f"restore {db_path.name} from a backup"
             + (f" (flowrun keeps one before migrations: {backup_path(db_path)})" if backup_path(db_path).is_file()
                else "")
             + f"; or, to start afresh, move the whole state dir aside: `mv {home} {home}.old`")


def check_before_open(db_path: Path) -> None:
    """Refuse, before SQLite touches it, a DB file that its marker says existed but that is missing or empty."""
    if not marker_path(db_path).is_file():
        return
    if not db_path.exists():
        raise refuse_lost(db_path, "is missing")
    if db_path.stat().st_size == 0:
        raise refuse_lost(db_path, "is empty (0 bytes)")


def check_schema(conn: sqlite3.Connection, db_path: Path) -> None:
    """Refuse a DB with no tables whose marker says it existed (e.g. truncated to 0 bytes), or a foreign DB."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not names and marker_path(db_path).is_file():
        raise refuse_lost(db_path, "is empty")
    if names and "migrations" not in names:
        raise DamagedStateError(f"{db_path} is an SQLite database, but not a flowrun state database "
                                "(it has no migrations table)",
                                hint="pass --home to point at the project's state dir, or move this file aside")


def write_marker(db_path: Path) -> None:
    """Write `state.id` (once), atomically, after the DB's first migrations committed."""
    marker = marker_path(db_path)
    if marker.is_file():
        return
    body = json.dumps({"id": os.urandom(16).hex(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "db": db_path.name, "note": "flowrun refuses to recreate the state DB while this file exists"})
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.{os.urandom(16).hex()}")
    tmp.write_text(body + "\n", encoding="utf-8")
    os.replace(tmp, marker)


def backup_before_migration(db_path: Path) -> None:
    """Copy the DB to `state.db.bak` with SQLite's backup API, before a schema migration.

    The caller holds the write lock; in WAL mode this second connection can still read a consistent copy.
    """
    target = backup_path(db_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    source, copy = sqlite3.connect(db_path), sqlite3.connect(tmp)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    os.replace(tmp, target)


def integrity_problems(db_path: Path, limit: int = 50) -> list[str]:
    """`PRAGMA integrity_check` of the file: [] when it is sound, else its findings (at most `limit`)."""
    if not db_path.is_file():
        return [f"{db_path} does not exist"]
    if db_path.stat().st_size == 0:
        return [f"{db_path} is empty (0 bytes)"]
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        return _findings(conn, limit)
    finally:
        conn.close()


def _findings(conn: sqlite3.Connection, limit: int) -> list[str]:
    try:
        return _integrity_check(conn, limit)
    except sqlite3.DatabaseError as exc:  # a page too damaged to walk ends the check with an error...
        error = f"sqlite: {exc} (the check stopped there)"
    found: list[str] = []  # ...which also swallows the findings before it: ask for them one more at a time
    for count in range(1, min(limit, 10) + 1):
        try:
            rows = _integrity_check(conn, count)
        except sqlite3.DatabaseError:
            break
        if len(rows) <= len(found):
            break
        found = rows
    return [*found, error]


def _integrity_check(conn: sqlite3.Connection, limit: int) -> list[str]:
    lines = []
    for row in conn.execute(f"PRAGMA integrity_check({int(limit)})"):
        lines += [line for line in str(row[0]).splitlines() if line not in ("ok", "*** in database main ***")]
    return lines
