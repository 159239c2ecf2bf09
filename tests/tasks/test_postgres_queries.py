"""Postgres Query and Queries against a real server: outputs per fetchType, parameters, transactions, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from jdbc_harness import PG, HarnessContext, run_fail, run_ok, run_task
from pg_fixture import *  # noqa: F403 - the pg fixtures, until conftest lists the pg_fixture plugin
from pg_fixture import PgDatabase

from flowrun import ion
from flowrun.errors import TaskKilled


def task(db: PgDatabase, kind: str, sql: str, **props: Any) -> dict[str, Any]:
    return {"id": "sql", "type": f"{PG}.{kind}", "url": db.jdbc_url, "username": db.server.user, "sql": sql, **props}


def test_queries_split_and_output_one_entry_per_result_set(pg_db: PgDatabase, tmp_path: Path) -> None:
    sql = """
        CREATE TABLE t (id int, name text, at timestamp, price numeric(6,2), tags text[], doc jsonb);
        -- a comment; with a semicolon
        INSERT INTO t VALUES (1, 'a;b', '2019-01-01 00:15:00', 12.50, '{x,y}', '{"k": [1, 2]}');
        CREATE FUNCTION two() RETURNS int AS $$ SELECT 2; $$ LANGUAGE sql;
        SELECT * FROM t;
        SELECT two() AS two;
    """
    out = run_ok(task(pg_db, "Queries", sql, fetchType="FETCH"), tmp_path).outputs
    assert out == {"outputs": [
        {"rows": [{"id": 1, "name": "a;b", "at": "2019-01-01T00:15:00", "price": 12.5, "tags": ["x", "y"],
                   "doc": {"k": [1, 2]}}], "size": 1},
        {"rows": [{"two": 2}], "size": 1},
    ]}


def test_query_fetch_types(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t AS SELECT g AS id, 'n' || g AS name FROM generate_series(1, 5) g")
    sql = "SELECT * FROM t ORDER BY id"
    assert run_ok(task(pg_db, "Query", sql), tmp_path).outputs == {}
    assert run_ok(task(pg_db, "Query", sql, fetchType="FETCH_ONE"), tmp_path).outputs == {
        "row": {"id": 1, "name": "n1"}, "size": 1}
    assert run_ok(task(pg_db, "Query", "SELECT 1 WHERE false", fetchType="FETCH_ONE"), tmp_path).outputs == {"size": 0}
    assert run_ok(task(pg_db, "Query", sql, fetch=True), tmp_path).outputs["size"] == 5
    stored = run_ok(task(pg_db, "Query", sql, fetchType="STORE", fetchSize=2), tmp_path).outputs
    assert stored["size"] == 5 and stored["uri"].startswith("kestra:///") and stored["uri"].endswith(".ion")
    path = HarnessContext(home=tmp_path).storage.local_path(stored["uri"])
    assert path.read_text().splitlines()[0] == '{id:1,name:"n1"}'
    assert [r["name"] for r in ion.read_values(path)] == ["n1", "n2", "n3", "n4", "n5"]


def test_store_types_as_kestra_writes_them(pg_db: PgDatabase, tmp_path: Path) -> None:
    sql = ("SELECT timestamp '2019-01-01 00:15:00' AS ts, timestamptz '2019-01-01 00:00:00+00' AS tz, "
           "date '2019-01-02' AS d, 12.50::numeric AS n, 1.5::float8 AS f, NULL AS z, interval '1 day' AS i")
    out = run_ok(task(pg_db, "Query", sql, fetchType="STORE", timeZoneId="UTC"), tmp_path).outputs
    line = HarnessContext(home=tmp_path).storage.local_path(out["uri"]).read_text().strip()
    assert line == ('{ts:LocalDateTime::"2019-01-01T00:15:00",tz:ZonedDateTime::"2019-01-01T00:00:00Z[UTC]",'
                    'd:2019-01-02,n:12.50,f:1.5e0,z:null,i:"P0Y0M1DT0H0M0S"}')


def test_time_zone_id_converts_timestamptz(pg_db: PgDatabase, tmp_path: Path) -> None:
    sql = "SELECT timestamptz '2019-01-01 12:00:00+00' AS at"
    out = run_ok(task(pg_db, "Query", sql, fetchType="FETCH_ONE", timeZoneId="America/New_York"), tmp_path).outputs
    assert out["row"] == {"at": "2019-01-01T07:00:00-05:00"}


def test_named_parameters(pg_db: PgDatabase, tmp_path: Path) -> None:
    sql = "SELECT :name::text AS name, :n + 1 AS next, '100%' AS pct, ':name' AS literal"
    out = run_ok(task(pg_db, "Query", sql, fetchType="FETCH_ONE", parameters={"name": "o'hara", "n": 41}),
                 tmp_path).outputs
    assert out["row"] == {"name": "o'hara", "next": 42, "pct": "100%", "literal": ":name"}


def test_queries_transaction_rolls_back_on_error(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int)")
    sql = "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nSELECT * FROM\n  missing_table;"
    error = run_fail(task(pg_db, "Queries", sql), tmp_path).error
    assert 'relation "missing_table" does not exist' in error.message
    assert "at line 2, column 3" in error.message and "SELECT * FROM missing_table" in error.message
    assert pg_db.scalar("SELECT count(*) FROM t") == 0
    run_fail(task(pg_db, "Queries", sql, transaction=False), tmp_path)
    assert pg_db.scalar("SELECT count(*) FROM t") == 2


def test_query_after_sql_runs_in_the_same_transaction(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE q (id int, done bool default false); INSERT INTO q VALUES (1), (2)")
    out = run_ok(task(pg_db, "Query", "SELECT id FROM q WHERE NOT done ORDER BY id", fetchType="FETCH",
                      afterSQL="UPDATE q SET done = true"), tmp_path).outputs
    assert out == {"rows": [{"id": 1}, {"id": 2}], "size": 2}
    assert pg_db.scalar("SELECT count(*) FROM q WHERE done") == 2


def test_syntax_error_is_one_line_with_position(pg_db: PgDatabase, tmp_path: Path) -> None:
    error = run_fail(task(pg_db, "Queries", "SELECT 1;\nSELEC 2;", password="hunter2-secret"), tmp_path).error
    assert "\n" not in error.message
    assert error.message.startswith(f"task `sql`: SQL error on postgresql://postgres@{pg_db.jdbc_url[18:]}")
    assert 'syntax error at or near "SELEC" [42601] at line 1, column 1; statement: SELEC 2' in error.message
    assert "hunter2-secret" not in error.message and "hunter2-secret" not in str(error.evidence)


def test_unreachable_host_and_wrong_credentials(pg_db: PgDatabase, tmp_path: Path) -> None:
    unreachable = task(pg_db, "Query", "SELECT 1", url="jdbc:postgresql://127.0.0.1:1/db", password="pw-abc-123")
    attempt = run_fail(unreachable, tmp_path)
    message = attempt.error.message
    assert message.startswith("task `sql`: cannot connect to postgresql://postgres@127.0.0.1:1/db: ")
    assert "refused" in message and "\n" not in message and "pw-abc-123" not in message
    assert "pw-abc-123" in attempt.ctx.secrets  # registered, so the engine masks it in logs
    wrong_user = task(pg_db, "Query", "SELECT 1", username="nobody_here")
    message = run_fail(wrong_user, tmp_path).error.message
    assert 'role "nobody_here" does not exist' in message and "cannot connect to postgresql://nobody_here@" in message


def test_password_never_logged(pg_db: PgDatabase, tmp_path: Path) -> None:
    url = pg_db.jdbc_url + "?password=url-secret-1"
    attempt = run_fail(task(pg_db, "Query", "SELECT nope", url=url, password="prop-secret-2"), tmp_path)
    text = attempt.error.message + str(attempt.error.evidence) + " ".join(attempt.ctx.logger.messages())
    assert "url-secret-1" not in text and "prop-secret-2" not in text
    assert {"url-secret-1", "prop-secret-2"} <= set(attempt.ctx.secrets)


def test_cancel_interrupts_a_running_statement(pg_db: PgDatabase, tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    attempt = run_task(task(pg_db, "Queries", "SELECT pg_sleep(30)"), tmp_path, cancel=cancel)
    assert isinstance(attempt.error, TaskKilled)
    assert time.monotonic() - start < 5
