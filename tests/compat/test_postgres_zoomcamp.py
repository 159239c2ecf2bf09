"""The zoomcamp flows, unchanged, through `flowrun run`: taxi loads into Postgres and the DuckDB getting-started flows.

Stand-ins (compat/README.md): a local HTTP server serves synthetic data, and the flow's URL host is rewritten in a
temporary copy of the flow; `flowrun.yaml` forces the Postgres url/username/password to the test's own database.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import taxi_data
from httpserver import LocalHTTPServer
from pg_fixture import *  # noqa: F403 - the pg fixtures, until conftest lists the pg_fixture plugin
from pg_fixture import PgDatabase
from zoomcamp_harness import COMPAT, SECRET_PASSWORD, project_with_forced_pg, rewrite

from flowrun import ion

N_ROWS = 300


def flowrun(project: Path, flow: Path, *inputs: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    args = [sys.executable, "-m", "flowrun", "run", str(flow), "--json"]
    for pair in inputs:
        args += ["--input", pair]
    done = subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.stdout, f"no JSON from flowrun (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout)


def generated(taxi: str, month: int) -> set[tuple[str, str, str]]:
    """(VendorID, pickup, fare) of the rows the server serves for that month."""
    lines = [",".join(taxi_data.columns(taxi))] + list(taxi_data.rows(taxi, 2019, month, N_ROWS))
    reader = csv.DictReader(lines)
    pickup = "tpep_pickup_datetime" if taxi == "yellow" else "lpep_pickup_datetime"
    return {(r["VendorID"], r[pickup], f"{float(r['fare_amount']):g}") for r in reader}


def loaded(db: PgDatabase, taxi: str) -> set[tuple[str, str, str]]:
    pickup = "tpep_pickup_datetime" if taxi == "yellow" else "lpep_pickup_datetime"
    with db.connect() as conn:
        rows = conn.execute(f"SELECT vendorid, {pickup}::text, fare_amount FROM public.{taxi}_tripdata").fetchall()
    return {(v, p, f"{f:g}") for v, p, f in rows}


@pytest.fixture(scope="module")
def taxi_server() -> Any:
    routes = {}
    for taxi in ("yellow", "green"):
        for month in (1, 2):
            import gzip

            body = "\n".join([",".join(taxi_data.columns(taxi)), *taxi_data.rows(taxi, 2019, month, N_ROWS)]) + "\n"
            path = "/DataTalksClub/nyc-tlc-data/releases/download" + taxi_data.url_path(taxi, 2019, month)
            routes[path] = gzip.compress(body.encode(), compresslevel=1)
    with LocalHTTPServer(routes) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("flow_file", ["current/04_postgres_taxi.yaml", "cohort-2025/02_postgres_taxi.yaml"])
@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_postgres_taxi_flow_loads_once_per_month(
    flow_file: str, taxi: str, pg_db: PgDatabase, tmp_path: Path, taxi_server: LocalHTTPServer
) -> None:
    project = project_with_forced_pg(tmp_path, pg_db)
    flow = rewrite(COMPAT / flow_file, project / "flows" / Path(flow_file).name, taxi_server.base)
    env = {"SECRET_PG_PASSWORD": base64.b64encode(SECRET_PASSWORD.encode()).decode()}

    first = flowrun(project, flow, f"taxi={taxi}", "year=2019", "month=01", env=env)
    assert first["state"] == "SUCCESS", json.dumps(first)[-3000:]
    copy_run = next(t for t in first["taskRuns"] if t["taskId"] == f"{taxi}_copy_in_to_staging_table")
    assert copy_run["outputs"] == {"rowCount": N_ROWS}
    assert loaded(pg_db, taxi) == generated(taxi, 1)
    assert pg_db.scalar(f"SELECT count(*) FROM {taxi}_tripdata") == N_ROWS

    again = flowrun(project, flow, f"taxi={taxi}", "year=2019", "month=01", env=env)
    assert again["state"] == "SUCCESS"
    assert pg_db.scalar(f"SELECT count(*) FROM {taxi}_tripdata") == N_ROWS

    other = flowrun(project, flow, f"taxi={taxi}", "year=2019", "month=02", env=env)
    assert other["state"] == "SUCCESS"
    assert loaded(pg_db, taxi) == generated(taxi, 1) | generated(taxi, 2)
    assert pg_db.scalar(f"SELECT count(DISTINCT filename) FROM {taxi}_tripdata") == 2

    for path in (project / ".flowrun").rglob("*"):  # state DB, logs, storage
        if path.is_file():
            assert SECRET_PASSWORD.encode() not in path.read_bytes(), f"password leaked into {path}"


def test_wrong_forced_connection_fails_with_one_clear_line(pg_db: PgDatabase, tmp_path: Path,
                                                            taxi_server: LocalHTTPServer) -> None:
    project = project_with_forced_pg(tmp_path, pg_db)
    text = (project / "flowrun.yaml").read_text().replace(pg_db.jdbc_url, "jdbc:postgresql://127.0.0.1:1/nowhere")
    (project / "flowrun.yaml").write_text(text)
    flow = rewrite(COMPAT / "current/04_postgres_taxi.yaml", project / "flows" / "04.yaml", taxi_server.base)
    env = {"SECRET_PG_PASSWORD": base64.b64encode(SECRET_PASSWORD.encode()).decode()}
    result = flowrun(project, flow, "taxi=yellow", env=env)
    assert result["state"] == "FAILED"
    for path in (project / ".flowrun").rglob("*"):
        if path.is_file():
            assert SECRET_PASSWORD.encode() not in path.read_bytes(), f"password leaked into {path}"


PRODUCTS = {"products": [
    {"id": 1, "brand": "Apple", "price": 10.5, "title": "a"},
    {"id": 2, "brand": "Apple", "price": 20.25, "title": "b"},
    {"id": 3, "brand": "Essence", "price": 9.99, "title": "c"},
    {"id": 4, "title": "no brand", "price": 4.0},
]}


@pytest.mark.slow
@pytest.mark.parametrize("flow_file", ["current/03_getting_started_data_pipeline.yaml",
                                       "cohort-2025/01_getting_started_data_pipeline.yaml"])
def test_getting_started_flow_duckdb_rows_match_input(flow_file: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flowrun.yaml").write_text("{}\n")
    with LocalHTTPServer({"/products": ("application/json", json.dumps(PRODUCTS).encode())}) as server:
        flow = rewrite(COMPAT / flow_file, project / "flows" / Path(flow_file).name, server.base)
        result = flowrun(project, flow)
    assert result["state"] == "SUCCESS", json.dumps(result)[-3000:]
    query = next(t for t in result["taskRuns"] if t["taskId"] == "query")["outputs"]
    uri = query["uri"] if "uri" in query else query["outputs"][-1]["uri"]
    stored = project / ".flowrun" / "storage" / uri.removeprefix("kestra:///")
    rows = ion.read_values(stored)
    assert rows == [{"brand": "Apple", "avg_price": 15.38}, {"brand": "Essence", "avg_price": 9.99},
                    {"brand": "N/A", "avg_price": 4.0}]
