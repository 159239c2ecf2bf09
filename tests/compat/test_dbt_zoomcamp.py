"""The zoomcamp dbt flows, unchanged, end to end: 03_postgres_dbt on the test Postgres, 07_gcp_dbt on the emulators.

For 07, the GCP flows run as in test_gcp_zoomcamp.py (emulators from flowrun.yaml's `emulators:`, the KV keys
seeded by 04_gcp_kv.yaml and `GCP_CREDS` set as a user would), and the dbt profile is the flow's own: flowrun points
it at the BigQuery emulator. As the emulator's external tables stay empty, the month 06_gcp_taxi.yaml uploaded is
then loaded with LoadFromGcs and merged by 06's own CTAS and MERGE tasks (as test_gcp_zoomcamp.py's data path).

Stand-ins (../shared/compat/dbt/README.md): a real git repository in tmp_path holds taxi_rides_ny under
04-analytics-engineering/taxi_rides_ny, with both packages.yml naming local copies of the two hub packages; the
flow's `url:` is rewritten to that repository (file://) in a temporary copy of the flow. The Postgres profile and
DBT_DATABASE come from forced pluginDefaults in flowrun.yaml (the test's own database, the password from a
secret), which is how a user points the course flow at their database without editing it. The taxi months are
loaded first by 02_postgres_taxi.yaml, from synthetic files served by a local HTTP server.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import taxi_data
import yaml
from conftest import SHARED
from dbt_harness import COURSE_URL, course_repo, expected_model_rows, link_dbt_venv
from gcp_emulators import GcpEmulators
from httpserver import LocalHTTPServer
from pg_fixture import PgDatabase
from test_gcp_zoomcamp import SA_JSON, Zoomcamp, ok

ZOOMCAMP = SHARED / "compat" / "zoomcamp" / "cohort-2025"
N_ROWS = 300
MONTHS = [(taxi, 2019, month) for taxi in ("yellow", "green") for month in (1, 2)]
PASSWORD = "dbt-zoomcamp-pw-DO-NOT-LEAK"
#: the flow's input accepts custom values: build every row, not the project's 100-row test run
FULL_BUILD = "dbt build --vars '{is_test_run: false}'"
MODELS = ("fact_trips", "dim_zones", "dm_monthly_zone_revenue")


@pytest.fixture(scope="module")
def taxi_server() -> Iterator[LocalHTTPServer]:
    routes = {}
    for taxi, year, month in MONTHS:
        body = "\n".join([",".join(taxi_data.columns(taxi)), *taxi_data.rows(taxi, year, month, N_ROWS)]) + "\n"
        path = "/DataTalksClub/nyc-tlc-data/releases/download" + taxi_data.url_path(taxi, year, month)
        routes[path] = gzip.compress(body.encode(), compresslevel=1)
    with LocalHTTPServer(routes) as server:
        yield server


def postgres_project(root: Path, db: PgDatabase) -> Path:
    """flowrun.yaml forcing the JDBC connection (02) and the dbt profile and DBT_DATABASE (03) to the test DB."""
    root.mkdir(parents=True)
    (root / "flowrun.yaml").write_text(f"""\
pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    forced: true
    values:
      url: {db.jdbc_url}
      username: {db.server.user}
      password: "{{{{ secret('PG_PASSWORD') }}}}"
  - type: io.kestra.plugin.dbt.cli.DbtCLI
    forced: true
    values:
      env:
        DBT_DATABASE: {db.name}
      profiles: |
        default:
          outputs:
            dev:
              type: postgres
              host: {db.server.host}
              user: {db.server.user}
              password: "{{{{ secret('PG_PASSWORD') }}}}"
              port: {db.server.port}
              dbname: {db.name}
              schema: public
              threads: 8
          target: dev
""")
    link_dbt_venv(root / ".flowrun")
    return root


def copy_flow(name: str, project: Path, replace: dict[str, str]) -> Path:
    text = (ZOOMCAMP / name).read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    dest = project / "flows" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


def flowrun(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=project, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


def run_json(project: Path, flow: Path, *inputs: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = flowrun(project, "run", str(flow), "--json", *[x for i in inputs for x in ("--input", i)], env=env)
    assert done.stdout, f"no JSON from flowrun (exit {done.returncode}): {done.stderr[-3000:]}"
    doc = json.loads(done.stdout)
    doc["exitCode"], doc["stderr"] = done.returncode, done.stderr
    return doc


@pytest.mark.slow
def test_03_postgres_dbt_builds_the_course_project(tmp_path: Path, pg_db: PgDatabase,
                                                   taxi_server: LocalHTTPServer) -> None:
    project = postgres_project(tmp_path / "project", pg_db)
    env = {"SECRET_PG_PASSWORD": base64.b64encode(PASSWORD.encode()).decode()}
    taxi = copy_flow("02_postgres_taxi.yaml", project, {"https://github.com/": taxi_server.base + "/"})
    for name, year, month in MONTHS:
        loaded = run_json(project, taxi, f"taxi={name}", f"year={year}", f"month={month:02d}", env=env)
        assert loaded["state"] == "SUCCESS", loaded["stderr"][-3000:]
    assert pg_db.scalar("SELECT count(*) FROM yellow_tripdata") == pg_db.scalar(
        "SELECT count(*) FROM green_tripdata") == 2 * N_ROWS

    repo = course_repo(tmp_path / "repo")
    flow = copy_flow("03_postgres_dbt.yaml", project, {COURSE_URL: repo.as_uri()})
    doc = run_json(project, flow, f"dbt_command={FULL_BUILD}", env=env)
    # dbt 1.11 logs deprecation warnings about this project, so the dbt task ends WARNING, as in Kestra
    assert doc["exitCode"] == 0 and doc["state"] == "WARNING", doc["stderr"][-4000:]
    runs = {t["taskId"]: t for t in doc["taskRuns"]}
    assert runs["sync"]["state"] == "SUCCESS" and runs["dbt-build"]["state"] == "WARNING"
    nodes = [t for t in doc["taskRuns"] if t["parentTaskRunId"] == runs["dbt-build"]["id"]]
    assert len(nodes) == 17 and {t["state"] for t in nodes} == {"SUCCESS"}
    assert "Installed from <local @ " in doc["stderr"] and "Done. PASS=17 WARN=0 ERROR=0 SKIP=0" in doc["stderr"]

    expected = expected_model_rows(MONTHS, N_ROWS)
    assert {m: pg_db.scalar(f"SELECT count(*) FROM public.{m}") for m in MODELS} == expected
    assert pg_db.scalar("SELECT sum(total_monthly_trips) FROM public.dm_monthly_zone_revenue") == \
        expected["fact_trips"]

    manifest = flowrun(project, "kv", "get", "zoomcamp", "manifest.json").stdout
    assert {f"model.taxi_rides_ny.{m}" for m in MODELS} <= set(json.loads(manifest)["nodes"])
    shown = flowrun(project, "executions", "show", doc["id"]).stdout
    for model in MODELS:
        assert f"\n  SUCCESS     model.taxi_rides_ny.{model} " in shown, shown
    report = project / "report.html"  # the report's (and the web page's) dbt nodes table names every node
    assert flowrun(project, "report", doc["id"], "--html", str(report)).returncode == 0
    html = report.read_text(encoding="utf-8")
    assert '<p class="muted" id="dbt-counts">17 nodes: 17 SUCCESS</p>' in html
    assert all(f'<tr class="dbt-node" data-node="{t["taskId"]}">' in html for t in nodes)
    for model in MODELS:
        assert f'data-node="model.taxi_rides_ny.{model}"><td>dbt-build</td>' in html
    for path in (project / ".flowrun").rglob("*"):
        if path.is_file() and "venvs" not in path.parts:
            assert PASSWORD.encode() not in path.read_bytes(), f"password leaked into {path}"


def fill_flow(taxi: str) -> str:
    """06_gcp_taxi's own table tasks for `taxi`, with a LoadFromGcs of the uploaded file into the `_ext` table."""
    source = yaml.safe_load((ZOOMCAMP / "06_gcp_taxi.yaml").read_text())
    tasks = next(t for t in source["tasks"] if t["id"] == f"if_{taxi}_taxi")["then"]
    load = {"id": "load_ext", "type": "io.kestra.plugin.gcp.bigquery.LoadFromGcs", "from": ["{{render(vars.gcs_file)}}"],
            "destinationTable": "{{kv('GCP_PROJECT_ID')}}.{{render(vars.table)}}_ext", "format": "CSV",
            "csvOptions": {"skipLeadingRows": 1}, "writeDisposition": "WRITE_TRUNCATE", "ignoreUnknownValues": True}
    variables = {k: v for k, v in source["variables"].items() if k != "data"}
    flow = {"id": f"fill_{taxi}", "namespace": "zoomcamp", "inputs": source["inputs"], "variables": variables,
            "tasks": [tasks[0], tasks[1], load, tasks[2], tasks[3]], "pluginDefaults": source["pluginDefaults"]}
    return yaml.safe_dump(flow, sort_keys=False)


@pytest.mark.slow
def test_07_gcp_dbt_builds_the_course_project_on_the_emulators(tmp_path: Path, gcp_emulators: GcpEmulators,
                                                               taxi_server: LocalHTTPServer) -> None:
    zc = Zoomcamp(tmp_path / "gcp", gcp_emulators, taxi_server, via_config=True)
    link_dbt_venv(zc.root / ".flowrun", "bigquery")
    zc.kv_set("GCP_CREDS", SA_JSON, "JSON")
    ok(zc.run("cohort-2025/04_gcp_kv.yaml"))
    zc.kv_set("GCP_PROJECT_ID", "dbt-zoomcamp")  # a project of its own in the shared emulator
    zc.kv_set("GCP_BUCKET_NAME", "dbt-zoomcamp-kestra")
    ok(zc.run("cohort-2025/05_gcp_setup.yaml"))
    months = [("green", 2019, 1), ("yellow", 2019, 1)]
    for taxi, _, _ in months:
        ok(zc.run("cohort-2025/06_gcp_taxi.yaml", f"taxi={taxi}", "year=2019", "month=01"))
        fill = zc.root / "flows" / f"fill_{taxi}.yaml"
        fill.write_text(fill_flow(taxi))
        done = flowrun(zc.root, "run", str(fill), "--json", "--input", f"taxi={taxi}", "--input", "month=01")
        assert json.loads(done.stdout)["state"] == "SUCCESS", done.stderr[-3000:]
        assert gcp_emulators.scalar(f"SELECT count(*) FROM `dbt-zoomcamp.zoomcamp.{taxi}_tripdata`",
                                    "dbt-zoomcamp") == N_ROWS

    repo = course_repo(tmp_path / "repo")
    flow = copy_flow("07_gcp_dbt.yaml", zc.root, {COURSE_URL: repo.as_uri()})
    doc = run_json(zc.root, flow, f"dbt_command={FULL_BUILD}")
    assert doc["exitCode"] == 0 and doc["state"] == "WARNING", doc["stderr"][-4000:]
    runs = {t["taskId"]: t for t in doc["taskRuns"]}
    nodes = [t for t in doc["taskRuns"] if t["parentTaskRunId"] == runs["dbt-build"]["id"]]
    assert len(nodes) == 17 and {t["state"] for t in nodes} == {"SUCCESS"}, [(t["taskId"], t["state"]) for t in nodes]
    assert "BigQuery emulator at http://127.0.0.1:" in doc["stderr"]
    assert "method service-account replaced by oauth-secrets" in doc["stderr"]
    expected = expected_model_rows(months, N_ROWS)
    counts = {m: gcp_emulators.scalar(f"SELECT count(*) FROM `dbt-zoomcamp.zoomcamp.{m}`", "dbt-zoomcamp")
              for m in MODELS}
    assert counts == expected
    manifest = flowrun(zc.root, "kv", "get", "zoomcamp", "manifest.json").stdout
    assert "model.taxi_rides_ny.fact_trips" in json.loads(manifest)["nodes"]
    zc.assert_no_key_leak(doc)
