"""`flowrun state copy --to postgresql://...`: a whole SQLite history moves to Postgres and reads the same there."""

from __future__ import annotations

import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import Project
from helpers import assert_clean_error
from pg_fixture import PgDatabase

from flowrun.crypto import Cipher
from flowrun.model.execution import Attempt, Execution, TaskRun, new_id
from flowrun.state.db import Database
from flowrun.state.pg_copy import source_tables
from flowrun.state.postgres import PostgresStore
from flowrun.state.protocol import StateStore
from flowrun.state.records import StateScope, StoredState
from flowrun.state.store import get_execution

KEY = ("dev", "history", "hourly")
START = datetime(2024, 1, 1, tzinfo=UTC)


def _fill(db: Database, count: int) -> None:
    """`count` finished executions with a task run and a log line each, and a row in every other table."""
    for n in range(count):
        moment = START + timedelta(minutes=n)
        execution = Execution(id=new_id(), namespace="dev", flow_id="bulk", state="SUCCESS", start_date=moment,
                              end_date=moment + timedelta(seconds=1), labels=[("n", str(n))])
        db.save_execution(execution, {"n": n}, {})
        taskrun = TaskRun(id=new_id(), execution_id=execution.id, task_id="t", task_type="Log", seq=0,
                          state="SUCCESS", attempts=[Attempt("SUCCESS", moment)])
        db.insert_task_run(taskrun, {"value": n})
        db.add_log(execution.id, taskrun.id, "t", 1, "INFO", moment.isoformat(), f"line {n}")
    db.kv_put("dev", "plain", "STRING", '"v"', False, None, "2024-01-01T00:00:00.000000Z")
    db.record_revision("dev", "bulk", "id: bulk\nnamespace: dev\n")
    db.enqueue_due(KEY, "flows/history.yaml", lambda last: (["2024-01-01T01:00:00Z"], "2024-01-01T01:00:00Z"))
    claim = db.take_next_claim()
    assert claim is not None
    db.finish_claim(claim)
    backfill_id, _ = db.start_backfill("dev", "bulk", ["hourly"], "2024-01-01", "2024-01-02", {})
    db.finish_backfill(backfill_id, "SUCCESS", 1, 1, 0, 0)
    db.update_task_state(StateScope("dev", "bulk", "default"), lambda current: StoredState('{"k":1}'))
    db.add_metric("e", "tr", "rows", "counter", 3.0, {"t": "x"})


def _counts_sqlite(path: Any) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in source_tables(conn)}


def _counts_pg(pg_db: PgDatabase, tables: list[str]) -> dict[str, int]:
    return {table: pg_db.scalar(f'SELECT COUNT(*) FROM "{table}"') for table in tables}


def _without_rowid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "rowid"} for row in rows]


def _detail(store: StateStore, execution_id: str, cipher: Cipher) -> dict[str, Any]:
    return {"execution": get_execution(store, execution_id, cipher.unseal), "logs": store.log_rows(execution_id),
            "revision": store.execution_revision(execution_id)}


def test_a_history_of_1000_executions_moves_with_every_detail(project: Project, pg_db: PgDatabase) -> None:
    path = project.flow_file("state/history.yaml")
    ran = project.cli("run", str(path), "--input", "tok=s3cr3t", "--json")
    assert ran.code == 0, ran.stderr
    real = ran.json()["id"]
    source = Database(project.home / "state.db")
    _fill(source, 999)

    copied = project.cli("state", "copy", "--to", pg_db.url, "--json")
    assert copied.code == 0, copied.stderr
    counts = _counts_sqlite(project.home / "state.db")
    assert counts["executions"] == 1000 and counts["logs"] >= 1000
    assert copied.json()["rows"] == counts
    assert _counts_pg(pg_db, list(counts)) == counts

    target = PostgresStore(pg_db.url)
    try:
        cipher = Cipher(project.home)
        detail = _detail(target, real, cipher)
        assert detail == _detail(source, real, cipher)
        assert detail["execution"]["inputs"] == {"tok": "s3cr3t"}  # still encrypted at rest, same key
        assert [t["taskId"] for t in detail["execution"]["taskRuns"]][:2] == ["greet", "echo"]
        assert {"key": "team", "value": "data"} in detail["execution"]["labels"]
        assert [r["id"] for r in target.list_executions(None, None, None, 2000)] == \
            [r["id"] for r in source.list_executions(None, None, None, 2000)]  # the same order, ties included
        assert target.kv_rows("dev", "2024-01-01T00:00:00.000000Z") == source.kv_rows("dev",
                                                                                     "2024-01-01T00:00:00.000000Z")
        assert target.date_statuses(KEY) == source.date_statuses(KEY)
        assert target.trigger_state(KEY) == source.trigger_state(KEY)
        assert _without_rowid(target.backfill_rows(5)) == source.backfill_rows(5)
        assert target.list_revisions("dev", "bulk") == source.list_revisions("dev", "bulk")
        assert target.read_task_state(StateScope("dev", "bulk", "default")) == StoredState('{"k":1}')
        assert target.recorded_fingerprint() == source.recorded_fingerprint() is not None
        newest = max(row["id"] for row in target.log_rows(real))
        target.add_log(real, None, None, None, "INFO", "2024-01-02T00:00:00.000000Z", "after the move")
        assert target.log_rows(real)[-1]["id"] > newest  # identities number on after the copied ids
    finally:
        target.close()
        source.close()


def test_a_target_that_holds_anything_is_refused_and_left_alone(project: Project, pg_db: PgDatabase) -> None:
    project.run(project.flow_file("control/replayed.yaml"))
    assert project.cli("state", "copy", "--to", pg_db.url).code == 0
    again = project.cli("state", "copy", "--to", pg_db.url)
    assert_clean_error(again, 2, f"the target state {pg_db.url} is not empty (table `executions` has rows)",
                       "createdb")
    assert pg_db.scalar("SELECT COUNT(*) FROM executions") == 1


def test_copy_needs_a_history_and_a_postgres_url(project: Project, pg_db: PgDatabase) -> None:
    assert_clean_error(project.cli("state", "copy", "--to", pg_db.url), 2, "no SQLite state at", "nothing to copy")
    project.run(project.flow_file("control/replayed.yaml"))
    assert_clean_error(project.cli("state", "copy", "--to", "sqlite:///tmp/x.db"), 2,
                       "--to must be a postgresql:// URL")
    assert_clean_error(project.cli("state", "copy", "--to", "postgresql://u:pw@127.0.0.1:5432"), 2,
                       "--to names no database", "postgresql://u:***@127.0.0.1:5432")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = project.cli("state", "copy", "--to", f"postgresql://u:pw@127.0.0.1:{port}/db")
    assert_clean_error(unreachable, 4, f"cannot reach the Postgres state postgresql://u:***@127.0.0.1:{port}/db")
    assert ":pw@" not in unreachable.stderr
