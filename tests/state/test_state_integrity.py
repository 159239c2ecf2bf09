"""A damaged state DB is refused with its own message, never recreated, and never leaves a RUNNING row behind."""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

from conftest import Project
from helpers import assert_clean_error

from flowrun.state.db import MIGRATIONS, Database
from flowrun.state.integrity import backup_path, recover_hint

FLOW = """\
id: hello
namespace: t
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "one"
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: "two"
"""


def make_state(project: Project, runs: int = 3) -> list[str]:
    """A state DB holding `runs` finished executions (with logs), fully checkpointed into state.db."""
    path = project.flow(FLOW, "hello.yaml")
    ids = [project.run(path).id for _ in range(runs)]
    with sqlite3.connect(project.home / "state.db") as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    return ids


def rootpage(db: Path, name: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0])


def overwrite_page(db: Path, page: int) -> None:
    """Overwrite one page of the file with garbage (the same garbage every run)."""
    with sqlite3.connect(db) as conn:
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    with db.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(random.Random(page).randbytes(size))


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_an_emptied_state_db_is_refused_not_recreated(project: Project) -> None:
    make_state(project)
    db = project.home / "state.db"
    db.write_bytes(b"")
    for args in (("executions", "list"), ("run", "flows/hello.yaml"), ("kv", "list", "t"), ("state", "check")):
        assert_clean_error(project.cli(*args), 4, f"the state database {db} is empty (0 bytes)",
                           "state.id shows that it held this project's state", f"mv {project.home}")
    assert db.stat().st_size == 0, "the emptied DB must be left as it was"


def test_a_deleted_state_db_is_refused_not_recreated(project: Project) -> None:
    make_state(project, runs=1)
    db = project.home / "state.db"
    db.unlink()
    for args in (("executions", "list"), ("state", "check")):
        assert_clean_error(project.cli(*args), 4, f"the state database {db} is missing",
                           "restore state.db from a backup")
    assert not db.exists()


def test_garbage_in_the_logs_index_fails_the_run_clearly_and_leaves_no_running_row(project: Project) -> None:
    old_ids = make_state(project)
    db = project.home / "state.db"
    overwrite_page(db, rootpage(db, "logs_execution"))

    result = project.cli("run", "flows/hello.yaml")
    assert_clean_error(result, 4, f"the state database {db} is damaged", "database disk image is malformed",
                       ".recover", "flowrun state check --db")
    assert "writable" not in result.stderr
    states = rows(db, "SELECT id, state, error FROM executions")
    assert len(states) == 4 and not [s for s in states if s[1] in ("CREATED", "RUNNING", "QUEUED")]
    new = next(s for s in states if s[0] not in old_ids)
    assert new[1] == "FAILED" and new[2].startswith("flowrun could not record this execution: ")
    assert f"flowrun could not record execution {new[0]}, so it was stopped (it is not left RUNNING)" in result.stderr

    assert_clean_error(project.cli("logs", old_ids[0]), 4, "is damaged", ".recover")
    check = project.cli("state", "check")
    assert_clean_error(check, 4, f"the state database {db} is damaged", ".recover")
    assert "btreeInitPage() returns error code 11" in check.stdout
    listed = project.cli("executions", "list")  # what the damaged index does not hold stays readable
    assert listed.code == 0 and listed.stdout.count("t/hello") == 4


def test_garbage_in_the_schema_page_is_a_damaged_db(project: Project) -> None:
    make_state(project, runs=1)
    db = project.home / "state.db"
    overwrite_page(db, 1)
    for args in (("executions", "list"), ("state", "check")):
        assert_clean_error(project.cli(*args), 4, f"the state database {db} is damaged", ".recover")


def test_a_copy_recovered_with_the_sqlite3_shell_passes_the_check_and_replaces_the_db(project: Project) -> None:
    old_ids = make_state(project)
    db = project.home / "state.db"
    overwrite_page(db, rootpage(db, "logs_execution"))
    recovered = project.home / "state-recovered.db"
    sqlite3_shell = shutil.which("sqlite3")
    assert sqlite3_shell, "the recovery advice needs the sqlite3 shell"
    dump = subprocess.run([sqlite3_shell, str(db), ".dump"], capture_output=True, check=True)
    subprocess.run([sqlite3_shell, str(recovered)], input=dump.stdout, check=True)

    check = project.cli("state", "check", "--db", str(recovered))
    assert check.code == 0 and "integrity: ok" in check.stdout, check
    db.rename(project.home / "state-damaged.db")
    recovered.rename(db)
    listed = project.cli("executions", "list", "--json")
    assert listed.code == 0 and sorted(e["id"] for e in listed.json()) == sorted(old_ids)
    assert project.cli("run", "flows/hello.yaml").code == 0
    assert project.cli("state", "check").code == 0


def test_state_check_of_a_sound_db(project: Project) -> None:
    make_state(project, runs=1)
    result = project.cli("state", "check", "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["ok"] is True and report["checks"][0] == "integrity: ok"
    assert report["checks"][1] == "secret key: none yet (no value is encrypted)"


def test_a_foreign_sqlite_file_is_refused(project: Project) -> None:
    project.home.mkdir(parents=True)
    with sqlite3.connect(project.home / "state.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    assert_clean_error(project.cli("executions", "list"), 4, "is an SQLite database, but not a flowrun state database")
    assert rows(project.home / "state.db", "SELECT name FROM sqlite_master") == [("notes",)]


def test_a_backup_is_taken_before_a_schema_migration(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:  # a DB written by a flowrun that knew only the first migration
        conn.executescript(";".join(MIGRATIONS[0].statements("sqlite")))
        conn.execute("CREATE TABLE migrations (version TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        conn.execute("INSERT INTO migrations VALUES (?, 0)", (MIGRATIONS[0].version,))
        conn.execute("INSERT INTO kv VALUES ('t', 'k', 'STRING', '\"v\"', NULL, 'now')")
    db = Database(path)
    assert [r[0] for r in db.query("SELECT version FROM migrations ORDER BY version")] == [m.version for m in MIGRATIONS]
    assert rows(backup_path(path), "SELECT version FROM migrations") == [(MIGRATIONS[0].version,)]
    assert rows(backup_path(path), "SELECT key FROM kv") == [("k",)]
    assert str(backup_path(path)) in recover_hint(path)
    db.close()
    Database(path).close()  # nothing pending: no new backup
    assert rows(backup_path(path), "SELECT version FROM migrations") == [(MIGRATIONS[0].version,)]


def test_state_check_before_anything_ran_and_of_a_missing_file(project: Project) -> None:
    fresh = project.cli("state", "check")
    assert fresh.code == 0 and "no state DB yet" in fresh.stdout, fresh
    assert not (project.home / "state.db").exists()
    assert_clean_error(project.cli("state", "check", "--db", "nope.db"), 2, "no file nope.db")


def test_once_flowrun_exits_state_db_alone_holds_the_whole_state(project: Project) -> None:
    """flowrun's program skips the interpreter's teardown; it still closes every connection, so the WAL is
    folded back and a copy of state.db alone (a backup, a move to another machine) loses nothing."""
    path = project.flow(FLOW, "hello.yaml")
    result = project.cli("run", str(path))
    assert result.code == 0, result
    assert not (project.home / "state.db-wal").exists()
    copy = project.root / "copy.db"
    shutil.copyfile(project.home / "state.db", copy)
    assert rows(copy, "SELECT state FROM executions") == [("SUCCESS",)]
