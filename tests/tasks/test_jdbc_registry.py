"""Every task type of the JDBC issue is registered, validates a minimal definition, runs, and has its own tests."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from jdbc_harness import DUCK, PG, run_ok, stored_file
from pg_fixture import *  # noqa: F403 - the pg fixtures, until conftest lists the pg_fixture plugin
from pg_fixture import PgDatabase

from flowrun.tasks.base import Task
from flowrun.tasks.registry import task_class

HERE = Path(__file__).resolve().parents[1]  # tests/

#: type -> the tests that cover it in depth (file::function)
COVERAGE = {
    f"{PG}.Query": ["test_postgres_queries.py::test_query_fetch_types",
                    "test_postgres_queries.py::test_named_parameters"],
    f"{PG}.Queries": ["test_postgres_queries.py::test_queries_split_and_output_one_entry_per_result_set",
                      "test_postgres_queries.py::test_queries_transaction_rolls_back_on_error",
                      "test_postgres_zoomcamp.py::test_postgres_taxi_flow_loads_once_per_month"],
    f"{PG}.CopyIn": ["test_postgres_copy.py::test_bad_row_at_90_percent_rolls_back_everything",
                     "test_postgres_copy.py::test_100mb_file_loads_with_bounded_memory"],
    f"{PG}.CopyOut": ["test_postgres_copy.py::test_copy_out_csv_and_binary_round_trip"],
    f"{DUCK}.Query": ["test_duckdb_tasks.py::test_zoomcamp_query_with_several_statements_stores_the_last_result",
                      "test_postgres_zoomcamp.py::test_getting_started_flow_duckdb_rows_match_input"],
    f"{DUCK}.Queries": ["test_duckdb_tasks.py::test_queries_transaction_and_errors"],
}


def _functions(file: Path) -> set[str]:
    tree = ast.parse(file.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("type_name", sorted(COVERAGE))
def test_type_is_registered_and_has_tests(type_name: str) -> None:
    cls = task_class(type_name)
    assert issubclass(cls, Task) and cls.__name__ == type_name.rsplit(".", 1)[1]
    assert cls.__doc__ and cls.__doc__.strip(), f"{type_name} needs a docstring (its user documentation)"
    for ref in COVERAGE[type_name]:
        file, _, func = ref.partition("::")
        assert func in _functions(next(HERE.rglob(file))), f"{ref} is missing"


def _minimal(type_name: str, db: PgDatabase, home: Path) -> dict[str, Any]:
    conn = {"url": db.jdbc_url, "username": db.server.user}
    kind = type_name.rsplit(".", 1)[1]
    if type_name.startswith(DUCK):
        return {"sql": "SELECT 1 AS one", "fetchType": "FETCH_ONE"}
    if kind in ("Query", "Queries"):
        return {**conn, "sql": "SELECT 1 AS one", "fetchType": "FETCH_ONE"}
    db.execute("CREATE TABLE IF NOT EXISTS smoke (a int)")
    if kind == "CopyIn":
        return {**conn, "table": "smoke", "from": stored_file(home, b"1\n2\n")}
    return {**conn, "table": "smoke"}


@pytest.mark.parametrize("type_name", sorted(COVERAGE))
def test_type_runs_a_minimal_definition(type_name: str, pg_db: PgDatabase, tmp_path: Path) -> None:
    definition = {"id": "smoke", "type": type_name, **_minimal(type_name, pg_db, tmp_path)}
    outputs = run_ok(definition, tmp_path).outputs
    assert outputs, f"{type_name} returned no outputs"
