"""CopyIn / CopyOut against a real Postgres: every COPY option, rollback on a bad row, bounded memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import taxi_data
from jdbc_harness import PG, run_fail, run_ok, stored_file
from pg_fixture import *  # noqa: F403 - the pg fixtures, until conftest lists the pg_fixture plugin
from pg_fixture import PgDatabase


def copy_in(db: PgDatabase, uri: str, **props: Any) -> dict[str, Any]:
    return {"id": "load", "type": f"{PG}.CopyIn", "url": db.jdbc_url, "username": db.server.user,
            "from": uri, **props}


def table_rows(db: PgDatabase, sql: str) -> list[tuple]:
    with db.connect() as conn:
        return conn.execute(sql).fetchall()


def test_csv_header_quoting_and_nulls(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int, name text, note text)")
    data = b'id,name,note\n1,"Smith, John","say ""hi"""\n2,,\n3,"",plain\n'
    uri = stored_file(tmp_path, data)
    out = run_ok(copy_in(pg_db, uri, table="t", format="CSV", header=True), tmp_path).outputs
    assert out == {"rowCount": 3}
    assert table_rows(pg_db, "SELECT * FROM t ORDER BY id") == [
        (1, "Smith, John", 'say "hi"'), (2, None, None), (3, "", "plain")]


def test_header_false_delimiter_quote_escape(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int, name text)")
    uri = stored_file(tmp_path, b"1;'a;b'\n2;'it\\'s'\n")
    props = {"table": "t", "format": "CSV", "header": False, "delimiter": ";", "quote": "'", "escape": "\\"}
    assert run_ok(copy_in(pg_db, uri, **props), tmp_path).outputs == {"rowCount": 2}
    assert table_rows(pg_db, "SELECT * FROM t ORDER BY id") == [(1, "a;b"), (2, "it's")]


def test_null_string_force_not_null_and_force_null(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int, a text, b text, c text)")
    uri = stored_file(tmp_path, b'id,a,b,c\n1,NA,,""\n2,x,NA,"NA"\n')
    props = {"table": "t", "format": "CSV", "header": True, "nullString": "NA",
             "forceNotNull": ["a"], "forceNull": ["c"]}
    run_ok(copy_in(pg_db, uri, **props), tmp_path)
    # a: never NULL (FORCE_NOT_NULL); b: only the NULL string is NULL; c: even the quoted NULL string is NULL
    assert table_rows(pg_db, "SELECT * FROM t ORDER BY id") == [(1, "NA", "", ""), (2, "x", None, None)]


def test_text_format_and_encoding(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int, name text)")
    uri = stored_file(tmp_path, "1\tcaf\xe9\n2\t\\N\n".encode("latin-1"), "data.tsv")
    out = run_ok(copy_in(pg_db, uri, table="t", encoding="LATIN1"), tmp_path).outputs
    assert out == {"rowCount": 2}
    assert table_rows(pg_db, "SELECT * FROM t ORDER BY id") == [(1, "café"), (2, None)]


def test_column_subset_schema_qualified_unquoted(pg_db: PgDatabase, tmp_path: Path) -> None:
    """As the zoomcamp flows do: `public.x` and unquoted mixed-case column names fold to lower case."""
    pg_db.execute("CREATE TABLE public.yellow_tripdata_staging (unique_row_id text, filename text, VendorID text, "
                  "passenger_count integer, congestion_surcharge double precision)")
    uri = stored_file(tmp_path, b"VendorID,passenger_count,congestion_surcharge\n1,2,2.5\n2,,\n")
    props = {"table": "public.yellow_tripdata_staging", "format": "CSV", "header": True,
             "columns": ["VendorID", "passenger_count", "congestion_surcharge"]}
    assert run_ok(copy_in(pg_db, uri, **props), tmp_path).outputs == {"rowCount": 2}
    assert table_rows(pg_db, "SELECT * FROM yellow_tripdata_staging ORDER BY vendorid") == [
        (None, None, "1", 2, 2.5), (None, None, "2", None, None)]


def test_bad_row_at_90_percent_rolls_back_everything(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE t (id int, v int)")
    lines = [f"{i},{i}" for i in range(1000)]
    lines[900] = "900,not-a-number"
    uri = stored_file(tmp_path, ("id,v\n" + "\n".join(lines) + "\n").encode())
    attempt = run_fail(copy_in(pg_db, uri, table="t", format="CSV", header=True, password="pw-123"), tmp_path)
    message = attempt.error.message
    assert "\n" not in message and "task `load`" in message
    assert 'invalid input syntax for type integer: "not-a-number"' in message
    assert "line 902" in message  # the header is line 1
    assert pg_db.jdbc_url.split("//")[1].split("/")[0] in message and "pw-123" not in message
    assert pg_db.scalar("SELECT count(*) FROM t") == 0


def test_missing_table_names_statement(pg_db: PgDatabase, tmp_path: Path) -> None:
    uri = stored_file(tmp_path, b"a\n1\n")
    message = run_fail(copy_in(pg_db, uri, table="nope", format="CSV", header=True), tmp_path).error.message
    assert 'relation "nope" does not exist' in message
    assert "COPY nope FROM STDIN WITH (FORMAT CSV, HEADER TRUE)" in message


def test_copy_out_csv_and_binary_round_trip(pg_db: PgDatabase, tmp_path: Path) -> None:
    pg_db.execute("CREATE TABLE src (id int, name text); INSERT INTO src VALUES (1, 'a'), (2, NULL), (3, 'c,d')")
    base = {"url": pg_db.jdbc_url, "username": pg_db.server.user}
    out = run_ok({"id": "export", "type": f"{PG}.CopyOut", **base, "format": "CSV", "header": True,
                  "sql": "SELECT * FROM src WHERE id < 3 ORDER BY id", "forceQuote": ["name"]}, tmp_path).outputs
    assert out["rowCount"] == 2 and out["uri"].endswith(".csv")
    from script_harness import HarnessContext

    local = HarnessContext(home=tmp_path).storage.local_path(out["uri"])
    assert local.read_text() == 'id,name\n1,"a"\n2,\n'
    binary = run_ok({"id": "export", "type": f"{PG}.CopyOut", **base, "format": "BINARY", "table": "src",
                     "columns": ["id", "name"]}, tmp_path).outputs
    assert binary["rowCount"] == 3
    pg_db.execute("CREATE TABLE dst (id int, name text)")
    assert run_ok(copy_in(pg_db, binary["uri"], table="dst", format="BINARY"), tmp_path).outputs == {"rowCount": 3}
    assert table_rows(pg_db, "SELECT * FROM dst ORDER BY id") == [(1, "a"), (2, None), (3, "c,d")]


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


@pytest.fixture(scope="session")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """About 100 MB of yellow-taxi rows (a generated block repeated), made once per session."""
    path = tmp_path_factory.mktemp("big") / "yellow_100mb.csv"
    block = "\n".join(taxi_data.rows("yellow", 2019, 1, 20000)) + "\n"
    repeats = (100 * 1024 * 1024) // len(block) + 1
    with open(path, "w") as f:
        f.write(",".join(taxi_data.YELLOW) + "\n")
        for _ in range(repeats):
            f.write(block)
    return path, repeats * 20000


def test_100mb_file_loads_with_bounded_memory(pg_db: PgDatabase, tmp_path: Path, big_csv: tuple[Path, int]) -> None:
    path, n = big_csv
    assert path.stat().st_size >= 100 * 1024 * 1024
    columns = ", ".join(f"{c} text" for c in taxi_data.YELLOW)
    pg_db.execute(f"CREATE UNLOGGED TABLE big ({columns})")
    uri = stored_file(tmp_path, b"", "big.csv")
    from script_harness import HarnessContext

    local = HarnessContext(home=tmp_path).storage.local_path(uri)
    os.replace(path, local)  # the session file becomes the stored file (no second 100 MB copy)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
        before = _rss_kb("VmRSS")
        out = run_ok(copy_in(pg_db, uri, table="big", format="CSV", header=True), tmp_path).outputs
        growth_mb = (_rss_kb("VmHWM") - before) / 1024
    finally:
        os.replace(local, path)
    assert out == {"rowCount": n}
    print(f"peak RSS growth {growth_mb:.1f} MB for {path.stat().st_size // 2**20} MB")
    assert growth_mb <= 64, f"peak memory grew by {growth_mb:.1f} MB"
