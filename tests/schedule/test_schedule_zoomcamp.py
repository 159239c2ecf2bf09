"""The zoomcamp scheduled taxi flows, unchanged, backfilled over 2019 through both triggers (24 executions).

Stand-ins (compat/README.md): a local HTTP server serves synthetic monthly files and the flow's download host is
rewritten in a temporary copy; `flowrun.yaml` forces the Postgres url/username/password to the test's database.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import taxi_data
from httpserver import LocalHTTPServer
from pg_fixture import *  # noqa: F403 - the pg fixtures
from pg_fixture import PgDatabase
from schedule_harness import CLI_SHIM
from zoomcamp_harness import COMPAT, SECRET_PASSWORD, project_with_forced_pg, rewrite

N_ROWS = 40
MONTHS = range(1, 13)


@pytest.fixture(scope="module")
def year_server() -> Any:
    routes = {}
    for taxi in ("yellow", "green"):
        for month in MONTHS:
            body = "\n".join([",".join(taxi_data.columns(taxi)), *taxi_data.rows(taxi, 2019, month, N_ROWS)]) + "\n"
            path = "/DataTalksClub/nyc-tlc-data/releases/download" + taxi_data.url_path(taxi, 2019, month)
            routes[path] = gzip.compress(body.encode(), compresslevel=1)
    with LocalHTTPServer(routes) as server:
        yield server


def _backfill(project: Path, flow: Path, *extra: str) -> dict[str, Any]:
    env = {**os.environ, "SECRET_PG_PASSWORD": base64.b64encode(SECRET_PASSWORD.encode()).decode()}
    args = [sys.executable, "-c", CLI_SHIM, "backfill", str(flow), "--from", "2019-01-01", "--to", "2019-12-31",
            "--json", *extra]
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert done.stdout, f"no JSON (exit {done.returncode}): {done.stderr[-3000:]}"
    result = json.loads(done.stdout)
    assert done.returncode == 0, json.dumps([d for d in result["dates"] if d["state"] != "SUCCESS"])[:3000]
    return dict(result)


def _counts(db: PgDatabase) -> dict[str, tuple[int, int]]:
    return {taxi: (db.scalar(f"SELECT count(*) FROM public.{taxi}_tripdata"),
                   db.scalar(f"SELECT count(DISTINCT filename) FROM public.{taxi}_tripdata"))
            for taxi in ("yellow", "green")}


def _executions(project: Path) -> list[dict[str, Any]]:
    import sqlite3

    conn = sqlite3.connect(project / ".flowrun" / "state.db")
    rows = conn.execute("SELECT state, labels, trigger FROM executions").fetchall()
    conn.close()
    return [{"state": s, "labels": {i["key"]: i["value"] for i in json.loads(labels)}, "trigger": json.loads(trig)}
            for s, labels, trig in rows]


@pytest.mark.slow
@pytest.mark.parametrize("flow_file", ["current/05_postgres_taxi_scheduled.yaml",
                                       "cohort-2025/02_postgres_taxi_scheduled.yaml"])
def test_backfill_2019_runs_24_executions_once(flow_file: str, pg_db: PgDatabase, tmp_path: Path,
                                               year_server: LocalHTTPServer) -> None:
    project = project_with_forced_pg(tmp_path, pg_db)
    flow = rewrite(COMPAT / flow_file, project / "flows" / Path(flow_file).name, year_server.base)

    first = _backfill(project, flow, "--parallel", "4")  # concurrency.limit: 1 queues them
    assert [d["state"] for d in first["dates"]] == ["SUCCESS"] * 24
    assert {d["trigger"] for d in first["dates"]} == {"green_schedule", "yellow_schedule"}
    runs = _executions(project)
    assert len(runs) == 24
    for run in runs:  # each execution loads its own month's file
        taxi, month = run["labels"]["taxi"], run["trigger"]["date"][:7]
        assert run["labels"]["file"] == f"{taxi}_tripdata_{month}.csv"
        assert run["labels"]["backfill"] == "true" and run["labels"]["backfillId"] == first["id"]
    expected = {"yellow": (12 * N_ROWS, 12), "green": (12 * N_ROWS, 12)}
    assert _counts(pg_db) == expected

    second = _backfill(project, flow)
    assert [d["action"] for d in second["dates"]] == ["skip"] * 24
    assert len(_executions(project)) == 24

    again = _backfill(project, flow, "--reprocess", "all")
    assert [d["state"] for d in again["dates"]] == ["SUCCESS"] * 24
    assert len(_executions(project)) == 48
    assert _counts(pg_db) == expected
