"""The state DB's side of the secret key: its recorded fingerprint, and finding or re-encrypting encrypted values."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from flowrun.crypto import MARKER, CryptoError
from flowrun.errors import StateError
from flowrun.state.liveness import ACTIVE
from flowrun.state.protocol import StateStore
from flowrun.state.sqlbase import Connection, SqlBase

FINGERPRINT = "secret_key_fingerprint"
TOKEN = re.compile(re.escape(MARKER) + r"[A-Za-z0-9_\-]+=*")
SKIPPED_TABLES = ("meta", "migrations", "state_locks")


def text_columns(conn: Connection) -> list[tuple[str, str]]:
    """Every (table, column) that can hold text, whatever the migrations added (KV, outputs, inputs...)."""
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    found = []
    for table in tables:
        if table in SKIPPED_TABLES:
            continue
        for column in conn.execute(f'PRAGMA table_info("{table}")'):
            declared = str(column[2]).upper()
            if not declared or any(word in declared for word in ("TEXT", "CHAR", "CLOB", "JSON")):
                found.append((table, str(column[1])))
    return found


class ScanSql(NamedTuple):
    """What differs between the backends in a scan of every text column for encrypted values (a NamedTuple,
    not a dataclass: this module is imported by every run, and a dataclass costs ~0.4 ms to create)."""

    columns: Callable[[Any], list[tuple[str, str]]]  # (table, column) of every text column
    find: str  # the function giving a substring's position
    row_id: str  # a row's address, as selected
    row_match: str  # the condition matching that address
    lock: str = ""  # what locks the selected rows


SQLITE_SCAN = ScanSql(text_columns, "instr", "rowid", "rowid = ?")


class SqliteKeys(SqlBase):
    """The `meta` row of the key's fingerprint, and a scan of every text column for encrypted values."""

    def recorded_fingerprint(self) -> str | None:
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,))
        return str(row[0]) if row else None

    def record_fingerprint(self, fingerprint: str) -> None:
        with self.write() as conn:
            set_fingerprint(conn, fingerprint)

    def record_first_fingerprint(self, fingerprint: str) -> str:
        with self.write() as conn:
            conn.execute("INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                         (FINGERPRINT, fingerprint, time.time()))
            return str(conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()[0])

    SCAN = SQLITE_SCAN

    def encrypted_values(self) -> int:
        total = 0
        for table, column in self.SCAN.columns(self.conn):
            row = self.query_one(f'SELECT COUNT(*) FROM "{table}" WHERE {self.SCAN.find}("{column}", ?) > 0',
                                 (MARKER,))
            total += int(row[0]) if row else 0
        return total

    def encrypted_tokens(self) -> list[str]:
        tokens: list[str] = []
        for table, column in self.SCAN.columns(self.conn):
            found = self.query(f'SELECT "{column}" FROM "{table}" WHERE {self.SCAN.find}("{column}", ?) > 0',
                               (MARKER,))
            for row in found:
                tokens += TOKEN.findall(row[0])
        return tokens

    def reencrypt(self, transform: Callable[[str], str], new_fingerprint: str) -> int:
        with self.write() as conn:
            count = _reencrypt(conn, transform, self.SCAN)
            set_fingerprint(conn, new_fingerprint)
        return count

    def active_execution_ids(self) -> list[str]:
        return [row[0] for row in self.query(f"SELECT id FROM executions WHERE state IN {ACTIVE} ORDER BY created_at")]


class KeyLedger:
    """Implements crypto.KeyGuard over a state store."""

    def __init__(self, db: StateStore) -> None:
        self.db = db

    def recorded_fingerprint(self) -> str | None:
        return self.db.recorded_fingerprint()

    def record_fingerprint(self, fingerprint: str) -> None:
        self.db.record_fingerprint(fingerprint)

    @property
    def shared(self) -> bool:
        return self.db.shared

    def record_first_fingerprint(self, fingerprint: str) -> str:
        return self.db.record_first_fingerprint(fingerprint)

    def encrypted_values(self) -> int:
        """How many column values hold at least one encrypted token (a full scan: used only when a key is lost)."""
        return self.db.encrypted_values()


def set_fingerprint(conn: Connection, fingerprint: str) -> None:
    conn.execute("INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                 "value = excluded.value, updated_at = excluded.updated_at", (FINGERPRINT, fingerprint, time.time()))


def reencrypt_copy(path: Path, transform: Callable[[str], str], new_fingerprint: str) -> int:
    """The same as `reencrypt` for an SQLite copy of the DB (the pre-migration backup), left as it is otherwise
    (no migration). A failure is a FlowrunError (StateError for the file, CryptoError for a value)."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                count = _reencrypt(conn, transform, SQLITE_SCAN)
                if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                    set_fingerprint(conn, new_fingerprint)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return count
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StateError(str(exc)) from exc


def _reencrypt(conn: Connection, transform: Callable[[str], str], scan: ScanSql) -> int:
    count = 0
    for table, column in scan.columns(conn):
        rows = conn.execute(f'SELECT {scan.row_id}, "{column}" FROM "{table}" WHERE {scan.find}("{column}", ?) > 0'
                            f"{scan.lock}", (MARKER,)).fetchall()
        for row_id, text in rows:
            try:
                new_text = TOKEN.sub(lambda match: transform(match.group(0)), text)
            except CryptoError as exc:
                raise CryptoError(f"{table}.{column} (row {row_id}): {exc.message}", hint=exc.hint) from exc
            conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE {scan.row_match}', (new_text, row_id))
            count += 1
    return count
