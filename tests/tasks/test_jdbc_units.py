"""Unit tests of the JDBC plumbing: statement splitting, parameters, URLs, cells and Ion files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from amazon.ion import simpleion

from flowrun import ion
from flowrun.jdbc.cells import iso_interval, make_converter, to_json
from flowrun.jdbc.errors import position_in
from flowrun.jdbc.fetch import resolve_fetch_type
from flowrun.jdbc.params import bind_named
from flowrun.jdbc.split import split_sql
from flowrun.jdbc.url import JdbcUrlError, parse_duckdb_url, parse_postgres_url


@pytest.mark.parametrize(
    "script, expected",
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select ';' as a; select 2", ["select ';' as a", "select 2"]),
        ("select 'it''s;' ; x", ["select 'it''s;'", "x"]),
        ("select E'a\\';b'; c", ["select E'a\\';b'", "c"]),
        ('select "we;ird" from t; d', ['select "we;ird" from t', "d"]),
        ("select 1 -- no; split\n; e", ["select 1 -- no; split", "e"]),
        ("select /* a; /* nested; */ b; */ 1; f", ["select /* a; /* nested; */ b; */ 1", "f"]),
        ("create function f() returns int as $$ select 1; $$ language sql; g",
         ["create function f() returns int as $$ select 1; $$ language sql", "g"]),
        ("do $body$ begin perform 1; end $body$; h", ["do $body$ begin perform 1; end $body$", "h"]),
        ("select $1; select a$b; i", ["select $1", "select a$b", "i"]),
        ("-- only a comment\n;  ;\n/* another */", []),
        ("INSTALL json;\nLOAD json;\nSELECT 1\n", ["INSTALL json", "LOAD json", "SELECT 1"]),
    ],
)
def test_split_sql(script: str, expected: list[str]) -> None:
    assert split_sql(script) == expected


def test_bind_named_keeps_casts_quotes_and_percent() -> None:
    sql, values = bind_named("select :a::int, ':b', '%' -- :c\n, :d, :a", {"a": 1, "d": "x"})
    assert sql == "select %s::int, ':b', '%%' -- :c\n, %s, %s"
    assert values == [1, "x", 1]
    assert bind_named("select :zz", {}) == ("select %s", [None])
    assert bind_named("select :a, '%'", {"a": 1}, placeholder="?") == ("select ?, '%'", [1])


def test_postgres_url_translation() -> None:
    t = parse_postgres_url("jdbc:postgresql://pgdatabase:5433/ny_taxi?sslmode=require&ApplicationName=x&foo=1",
                           "root", "s3cret")
    assert t.params == {"user": "root", "password": "s3cret", "host": "pgdatabase", "port": "5433",
                        "dbname": "ny_taxi", "sslmode": "require", "application_name": "x"}
    assert t.ignored == ["foo"]
    assert t.display == "postgresql://root@pgdatabase:5433/ny_taxi?sslmode=require"
    assert "s3cret" not in t.display and t.secrets() == ["s3cret"]
    multi = parse_postgres_url("jdbc:postgresql://h1,h2:6000,[::1]/db?currentSchema=s&ssl=true")
    assert multi.params["host"] == "h1,h2,::1" and multi.params["port"] == "5432,6000,5432"
    assert multi.params["options"] == "-c search_path=s" and multi.params["sslmode"] == "verify-full"
    assert parse_postgres_url("jdbc:postgresql:mydb").params["dbname"] == "mydb"
    # as in pgjdbc, the URL's own user/password win over the properties
    assert parse_postgres_url("jdbc:postgresql://h/db?user=u&password=p", "x", "y").params["user"] == "u"
    with pytest.raises(JdbcUrlError):
        parse_postgres_url("jdbc:mysql://h/db")


def test_duckdb_url() -> None:
    assert parse_duckdb_url(None).database is None
    assert parse_duckdb_url("jdbc:duckdb:").database is None
    assert parse_duckdb_url("jdbc:duckdb:/tmp/x.db").database == "/tmp/x.db"
    assert parse_duckdb_url("jdbc:duckdb::memory:").database == ":memory:"
    with pytest.raises(JdbcUrlError):
        parse_duckdb_url("jdbc:duckdb:relative.db")


def test_cells_as_kestra_types_them() -> None:
    convert = make_converter("Europe/Paris")
    aware = convert(dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC))
    assert to_json(aware) == "2020-01-01T13:00:00+01:00"
    assert to_json(convert(dt.datetime(2020, 1, 1, 0, 15))) == "2020-01-01T00:15:00"
    assert to_json(dt.datetime(2020, 1, 1, 0, 15, 0, 120000)) == "2020-01-01T00:15:00.12"
    assert to_json(dt.date(2020, 1, 2)) == "2020-01-02" and to_json(dt.time(10, 1)) == "10:01:00"
    assert to_json(Decimal("12.50")) == 12.5 and to_json(Decimal("7")) == 7
    assert to_json(b"ab") == "YWI="
    assert iso_interval("1 year 2 mons 3 days 04:05:06") == "P1Y2M3DT4H5M6S"
    assert iso_interval("-00:00:10") == "P0Y0M0DT0H0M-10S"
    assert iso_interval(dt.timedelta(days=1, seconds=3661)) == "P0Y0M1DT1H1M1S"


def test_fetch_type_resolution() -> None:
    assert resolve_fetch_type("store") == "STORE"
    assert resolve_fetch_type("NONE", fetch=True) == "FETCH"
    assert resolve_fetch_type("FETCH", fetch_one="true") == "FETCH_ONE"
    with pytest.raises(ValueError):
        resolve_fetch_type("ALL")


def test_position_in_statement() -> None:
    assert position_in("select\n  * from nope", 17) == (2, 10)
    assert position_in("x", None) is None


def test_ion_lines_round_trip(tmp_path: Path) -> None:
    row = {
        "i": 1, "f": 1.5, "big": 1e20, "d": Decimal("12.50"), "s": "it's \"q\"\nline", "none": None, "b": True,
        "ts": dt.datetime(2019, 1, 1, 0, 15), "tz": dt.datetime(2019, 1, 1, tzinfo=ZoneInfo("UTC")),
        "day": dt.date(2019, 1, 2), "t": dt.time(10, 0, 1), "raw": b"\x00\x01", "l": [1, "a"], "m": {"k": 1},
        "my col": 2, "null": 3,
    }
    text = ion.dumps(row)
    assert "\n" not in text
    assert text.startswith('{i:1,f:1.5e0,big:1e20,d:12.50,s:"it\'s \\"q\\"\\nline",none:null,b:true,')
    assert 'ts:LocalDateTime::"2019-01-01T00:15:00"' in text and 'tz:ZonedDateTime::"2019-01-01T00:00:00Z[UTC]"' in text
    assert "day:2019-01-02" in text and "'my col':2" in text and "'null':3" in text
    path = tmp_path / "rows.ion"
    assert ion.write_lines(path, [row, {"x": None}]) == 2
    # readable by amazon-ion itself…
    loaded = simpleion.load(open(path), single_value=False)
    assert len(loaded) == 2 and loaded[0]["d"] == Decimal("12.50")
    # …and by our streaming reader, as plain Python values
    back = ion.read_values(path)
    assert back[0]["ts"] == "2019-01-01T00:15:00" and back[0]["day"] == dt.date(2019, 1, 2)
    assert back[0]["raw"] == b"\x00\x01" and back[0]["m"] == {"k": 1} and back[1] == {"x": None}
