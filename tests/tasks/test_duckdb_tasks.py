"""DuckDB Query and Queries: input files, workingDir, built-in extensions offline, STORE/FETCH, output files."""

from __future__ import annotations

import json
from pathlib import Path

from jdbc_harness import DUCK, HarnessContext, run_fail, run_ok, stored_file

from flowrun import ion

PRODUCTS = [{"brand": "Apple", "price": 10.0}, {"brand": "Apple", "price": 20.0}, {"brand": "Essence", "price": 9.99}]
ZOOMCAMP_SQL = """INSTALL json;
LOAD json;
SELECT brand, round(avg(price), 2) as avg_price
FROM read_json_auto('{{workingDir}}/products.json')
GROUP BY brand
ORDER BY avg_price DESC;
"""


def test_zoomcamp_query_with_several_statements_stores_the_last_result(tmp_path: Path) -> None:
    """The 2025 cohort flow: INSTALL/LOAD json offline, then a SELECT whose rows go to an Ion file."""
    uri = stored_file(tmp_path, json.dumps(PRODUCTS).encode(), "products.json")
    for kind in ("Query", "Queries"):
        out = run_ok({"id": "query", "type": f"{DUCK}.{kind}", "inputFiles": {"products.json": uri},
                      "sql": ZOOMCAMP_SQL, "fetchType": "STORE"}, tmp_path).outputs
        result = out if kind == "Query" else out["outputs"][0]
        assert result["size"] == 2
        rows = ion.read_values(HarnessContext(home=tmp_path).storage.local_path(result["uri"]))
        assert rows == [{"brand": "Apple", "avg_price": 15.0}, {"brand": "Essence", "avg_price": 9.99}]
        if kind == "Queries":
            assert len(out["outputs"]) == 1  # INSTALL and LOAD return no result set


def test_inline_input_files_relative_names_and_fetch(tmp_path: Path) -> None:
    out = run_ok({"id": "q", "type": f"{DUCK}.Query", "inputFiles": {"data.csv": "a,b\n1,x\n2,y\n"},
                  "sql": "SELECT * FROM read_csv_auto('data.csv') ORDER BY a", "fetchType": "FETCH"}, tmp_path).outputs
    assert out == {"rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "size": 2}
    one = run_ok({"id": "q", "type": f"{DUCK}.Query", "sql": "SELECT 42 AS x, [1, 2] AS l, {'k': 'v'} AS s",
                  "fetchType": "FETCH_ONE"}, tmp_path).outputs
    assert one == {"row": {"x": 42, "l": [1, 2], "s": {"k": "v"}}, "size": 1}


def test_output_files_and_database_file(tmp_path: Path) -> None:
    db = tmp_path / "analytics.duckdb"
    sql = ("CREATE TABLE t AS SELECT range AS id FROM range(3);\n"
           "COPY t TO '{{ outputFiles.out }}' (HEADER, DELIMITER ',');")
    out = run_ok({"id": "q", "type": f"{DUCK}.Queries", "url": f"jdbc:duckdb:{db}", "sql": sql,
                  "outputFiles": ["out"]}, tmp_path).outputs
    assert out["outputs"] == []
    exported = HarnessContext(home=tmp_path).storage.local_path(out["outputFiles"]["out"])
    assert exported.read_text() == "id\n0\n1\n2\n"
    again = run_ok({"id": "q2", "type": f"{DUCK}.Query", "url": f"jdbc:duckdb:{db}", "sql": "SELECT count(*) AS n FROM t",
                    "fetchType": "FETCH_ONE", "outputDbFile": True}, tmp_path).outputs
    assert again["row"] == {"n": 3} and again["databaseUri"].startswith("kestra:///")
    reopened = run_ok({"id": "q3", "type": f"{DUCK}.Query", "databaseUri": again["databaseUri"],
                       "sql": "SELECT sum(id) AS s FROM t", "fetchType": "FETCH_ONE"}, tmp_path).outputs
    assert reopened["row"] == {"s": 3}


def test_fresh_database_per_run_and_parameters(tmp_path: Path) -> None:
    run_ok({"id": "q", "type": f"{DUCK}.Query", "sql": "CREATE TABLE t (a int)"}, tmp_path)
    out = run_ok({"id": "q", "type": f"{DUCK}.Query", "sql": "SELECT count(*) AS n FROM duckdb_tables() "
                  "WHERE table_name = :name", "parameters": {"name": "t"}, "fetchType": "FETCH_ONE"}, tmp_path).outputs
    assert out["row"] == {"n": 0}


def test_queries_transaction_and_errors(tmp_path: Path) -> None:
    db = tmp_path / "tx.duckdb"
    run_ok({"id": "q", "type": f"{DUCK}.Query", "url": f"jdbc:duckdb:{db}", "sql": "CREATE TABLE t (a int)"}, tmp_path)
    error = run_fail({"id": "q", "type": f"{DUCK}.Queries", "url": f"jdbc:duckdb:{db}",
                      "sql": "INSERT INTO t VALUES (1); SELECT * FROM missing;"}, tmp_path).error
    assert error.message.startswith(f"task `q`: SQL error on jdbc:duckdb:{db}: ")
    assert "missing" in error.message and "\n" not in error.message and "statement: SELECT * FROM missing" in error.message
    out = run_ok({"id": "q", "type": f"{DUCK}.Query", "url": f"jdbc:duckdb:{db}", "sql": "SELECT count(*) AS n FROM t",
                  "fetchType": "FETCH_ONE"}, tmp_path).outputs
    assert out["row"] == {"n": 0}


def test_extension_not_built_in_fails_clearly(tmp_path: Path) -> None:
    error = run_fail({"id": "q", "type": f"{DUCK}.Query", "sql": "LOAD no_such_extension_xyz"}, tmp_path).error
    assert "no_such_extension_xyz" in error.message and "\n" not in error.message
