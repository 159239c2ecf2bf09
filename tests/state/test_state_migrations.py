"""The state schema's migrations: ordered, recorded, portable, and the same list applies to SQLite and Postgres."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from pg_fixture import PgDatabase

from flowrun.state.db import Database
from flowrun.state.migrations import BACKENDS, BOOTSTRAP, MIGRATIONS, WORDS, Migration, bootstrap, render

#: SQLite-only and Postgres-only spellings the portable `sql` of a migration must not use
NOT_PORTABLE = [r"\bAUTOINCREMENT\b", r"\bINSERT\s+OR\b", r"\browid\b", r"\bPRAGMA\b", r"datetime\(",
                r"\bWITHOUT\s+ROWID\b", r"\bREAL\b", r"\bINTEGER\s+PRIMARY\s+KEY\b", r"\bSERIAL\b", r"\bJSONB\b",
                r"::"]


def test_versions_are_unique_and_in_order() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert len(set(versions)) == len(versions)
    assert versions == sorted(versions)
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+", v) for v in versions)


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: m.version)
def test_each_migration_is_written_in_portable_sql(migration: Migration) -> None:
    for pattern in NOT_PORTABLE:
        assert not re.search(pattern, migration.sql, re.IGNORECASE), f"{migration.version}: {pattern}"
    for backend in BACKENDS:
        statements = migration.statements(backend)
        assert statements and not any("$" in s for s in statements), backend
    assert set(migration.per_backend) <= set(BACKENDS)


def test_the_bootstrap_tables_are_portable_too() -> None:
    for sql in BOOTSTRAP:
        assert not any(re.search(pattern, sql, re.IGNORECASE) for pattern in NOT_PORTABLE), sql
    for backend in BACKENDS:
        assert [s.split(" (")[0] for s in bootstrap(backend)] == ["CREATE TABLE IF NOT EXISTS migrations",
                                                                 "CREATE TABLE IF NOT EXISTS meta"]
        assert not any("$" in s for s in bootstrap(backend))


def test_placeholders_are_spelled_by_every_backend() -> None:
    assert {backend: set(words) for backend, words in WORDS.items()} == {b: {"auto_id", "float"} for b in BACKENDS}
    assert render("x $float", "postgresql") == ["x DOUBLE PRECISION"]
    per = Migration("9999_x", "CREATE TABLE a (b TEXT)", {"postgresql": "CREATE TABLE a (b JSONB)"})
    assert per.statements("postgresql") == ["CREATE TABLE a (b JSONB)"]
    assert per.statements("sqlite") == ["CREATE TABLE a (b TEXT)"]


def test_sqlite_records_every_version_and_applies_only_the_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    for statement in bootstrap("sqlite") + MIGRATIONS[0].statements("sqlite"):
        conn.execute(statement)
    conn.execute("INSERT INTO migrations VALUES (?, 0)", (MIGRATIONS[0].version,))
    conn.execute("INSERT INTO executions (id, namespace, flow_id, state, created_at) VALUES ('e', 'n', 'f', "
                 "'SUCCESS', '2024-01-01')")
    conn.commit()
    conn.close()

    Database(path).close()

    conn = sqlite3.connect(path)
    applied = [row[0] for row in conn.execute("SELECT version FROM migrations ORDER BY version")]
    assert applied == [m.version for m in MIGRATIONS]
    assert conn.execute("SELECT id FROM executions").fetchall() == [("e",)]  # 0001 was not applied again
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"flow_revisions", "task_processes", "schedule_claims"} <= tables
    conn.close()


def test_the_same_list_applies_to_a_real_postgres(pg_db: PgDatabase) -> None:
    with pg_db.connect(autocommit=False) as conn:
        for statement in bootstrap("postgresql"):
            conn.execute(statement)
        for migration in MIGRATIONS:
            for statement in migration.statements("postgresql"):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations (version, applied_at) VALUES (%s, 0)", (migration.version,))
        conn.commit()
        first = conn.execute("INSERT INTO logs (execution_id, level, timestamp, message) VALUES ('e', 'INFO', 't', "
                             "'m') RETURNING id").fetchone()[0]
        second = conn.execute("INSERT INTO logs (execution_id, level, timestamp, message) VALUES ('e', 'INFO', 't', "
                              "'m') RETURNING id").fetchone()[0]
        assert second == first + 1  # $auto_id numbers rows on Postgres too
        conn.execute("INSERT INTO task_processes (execution_id, task_run_id, task_id, host, pgid, leader_identity, "
                     "runner_pid, runner_identity, started_at) VALUES ('e', 't', 'x', 'h', 1, 'a', 2, 'b', "
                     "1712345678.123456)")
        started = conn.execute("SELECT started_at FROM task_processes").fetchone()[0]
        assert started == pytest.approx(1712345678.123456, abs=1e-5)  # $float keeps a Unix time's microseconds
        columns = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'executions'"
                               ).fetchone()[0]
        assert columns == 23  # 22 and, on Postgres only, the `rowid` the shared queries order by (0008)
        assert [r[0] for r in conn.execute("SELECT version FROM migrations ORDER BY version")] == \
            [m.version for m in MIGRATIONS]


def test_opening_a_migrated_db_waits_for_no_writer(tmp_path: Path) -> None:
    """A backfill's workers open the state DB once per execution while the others write: an up-to-date DB is
    checked with a plain read, so opening it never queues behind another connection's write transaction."""
    import sqlite3
    import time

    from flowrun.state.db import Database

    Database(tmp_path / "state.db").close()
    writer = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process, mid-transaction
    try:
        started = time.monotonic()
        opened = Database(tmp_path / "state.db", busy_timeout_ms=2_000)
        assert time.monotonic() - started < 1.0
        assert opened.query_one("SELECT COUNT(*) FROM migrations")[0] >= 1
        opened.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
