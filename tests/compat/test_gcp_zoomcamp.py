"""The zoomcamp GCP flows, unchanged, on the GCS and BigQuery emulators; the data path; failures; coverage.

Stand-ins (compat/README.md): a local HTTP server serves synthetic taxi CSVs and the download host is rewritten in a
temporary copy of each flow; the emulator endpoints come from the environment (current/ flows) or from
flowrun.yaml's `emulators:` (cohort-2025 flows); `GCP_CREDS` is a generated service-account key of the right shape,
given as a secret (current/) or seeded in the KV store (cohort-2025/), as a user would set it in the UI.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import taxi_data
import yaml
from conftest import ROOT, SHARED
from gcp_emulators import GCP_TASKS, GcpEmulators, cli, service_account_json
from httpserver import LocalHTTPServer

COMPAT = SHARED / "compat" / "zoomcamp"
N_ROWS = 40
BUCKET, DATASET = "your-name-kestra", "zoomcamp"


SA_JSON = service_account_json()
PRIVATE_LINE = json.loads(SA_JSON)["private_key"].splitlines()[1]


def csv_text(taxi: str, month: int) -> str:
    return "\n".join([",".join(taxi_data.columns(taxi)), *taxi_data.rows(taxi, 2019, month, N_ROWS)]) + "\n"


@pytest.fixture(scope="module")
def taxi_server() -> Iterator[LocalHTTPServer]:
    routes = {}
    for taxi in ("yellow", "green"):
        for month in (1, 2, 3):
            path = "/DataTalksClub/nyc-tlc-data/releases/download" + taxi_data.url_path(taxi, 2019, month)
            routes[path] = gzip.compress(csv_text(taxi, month).encode(), compresslevel=1)
    with LocalHTTPServer(routes) as server:
        yield server


def copy_flow(rel: str, project: Path, base: str) -> Path:
    """A copy of the compat flow with only the download host rewritten to the local server."""
    text = (COMPAT / rel).read_text().replace("https://github.com/", base + "/")
    dest = project / "flows" / Path(rel).name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


class Zoomcamp:
    """A project dir running the zoomcamp flows through the real CLI."""

    def __init__(self, root: Path, emulators: GcpEmulators, server: LocalHTTPServer, via_config: bool) -> None:
        self.root, self.emulators, self.server = root, emulators, server
        root.mkdir(parents=True, exist_ok=True)
        (root / "flowrun.yaml").write_text(emulators.config_yaml() if via_config else "{}\n")
        self.env = {} if via_config else dict(emulators.env)
        self.env["SECRET_GCP_CREDS"] = base64.b64encode(SA_JSON.encode()).decode()
        self.kv_holds_key = False  # a key the user put in the KV store is stored there, as in Kestra

    def run(self, rel: str, *inputs: str) -> dict[str, Any]:
        flow = copy_flow(rel, self.root, self.server.base)
        args = ["run", str(flow), "--json", *[x for pair in inputs for x in ("--input", pair)]]
        done = cli(self.root, *args, env=self.env, timeout=180)
        assert done.stdout, f"no JSON from flowrun (exit {done.returncode}): {done.stderr[-3000:]}"
        doc = json.loads(done.stdout)
        doc["exitCode"] = done.returncode
        return doc

    def kv_set(self, key: str, value: str, kind: str = "STRING") -> None:
        self.kv_holds_key = self.kv_holds_key or PRIVATE_LINE in value
        done = cli(self.root, "kv", "set", "zoomcamp", key, value, "--type", kind, env=self.env)
        assert done.returncode == 0, done.stderr

    def logs(self, execution_id: str) -> str:
        return str(cli(self.root, "logs", execution_id, env=self.env).stdout)

    def assert_no_key_leak(self, *docs: dict[str, Any]) -> None:
        """The key is in no log or output; with it only in a secret, in no file of the state dir either."""
        for doc in docs:
            assert PRIVATE_LINE not in json.dumps(doc) + self.logs(doc["id"]), "private key leaked"
        if not self.kv_holds_key:
            for path in (self.root / ".flowrun").rglob("*"):
                if path.is_file():
                    assert PRIVATE_LINE.encode() not in path.read_bytes(), f"private key leaked into {path}"


def ok(doc: dict[str, Any]) -> dict[str, Any]:
    failed = [(t["taskId"], t["state"]) for t in doc["taskRuns"] if t["state"] != "SUCCESS"]
    assert doc["state"] == "SUCCESS" and doc["exitCode"] == 0, f"{doc['state']}: {failed}"
    return doc


def query_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in doc["taskRuns"] if t["taskId"].startswith("bq_") and t["state"] == "SUCCESS"]


def check_taxi_run(zc: Zoomcamp, doc: dict[str, Any], taxi: str, month: int = 1) -> None:
    """The object landed with the CSV's size, and every BigQuery job is logged with its id and SQL."""
    name = taxi_data.file_name(taxi, 2019, month)
    blob = zc.emulators.storage_client().bucket(BUCKET).get_blob(name)
    assert blob is not None and blob.size == len(csv_text(taxi, month).encode())
    upload = next(t for t in doc["taskRuns"] if t["taskId"] == "upload_to_gcs")
    assert upload["outputs"] == {"uri": f"gs://{BUCKET}/{name}"}
    runs = query_runs(doc)
    assert [t["taskId"] for t in runs] == [f"bq_{taxi}_tripdata", f"bq_{taxi}_table_ext", f"bq_{taxi}_table_tmp",
                                           f"bq_{taxi}_merge"]
    logs = zc.logs(doc["id"])
    for run in runs:
        job_id = run["outputs"]["jobId"]
        assert job_id.startswith("kestra_"), run
        assert re.search(rf"BigQuery query job {re.escape(job_id)}\b.* started: (CREATE|MERGE)", logs), logs
    assert "MERGE INTO `kestra-sandbox.zoomcamp." in logs


@pytest.mark.slow
def test_current_gcp_flows_run_unchanged(tmp_path: Path, gcp_emulators: GcpEmulators,
                                         taxi_server: LocalHTTPServer) -> None:
    zc = Zoomcamp(tmp_path / "current", gcp_emulators, taxi_server, via_config=False)
    ok(zc.run("current/06_gcp_kv.yaml"))
    setup = ok(zc.run("current/07_gcp_setup.yaml"))
    assert {t["taskId"]: t["outputs"].get("created", t["outputs"].get("dataset")) for t in setup["taskRuns"]} in (
        {"create_gcs_bucket": True, "create_bq_dataset": DATASET},
        {"create_gcs_bucket": False, "create_bq_dataset": DATASET})
    assert gcp_emulators.bigquery_client().get_dataset(f"kestra-sandbox.{DATASET}").dataset_id == DATASET
    ok(zc.run("current/07_gcp_setup.yaml"))  # ifExists: SKIP both times
    docs = []
    for taxi in ("green", "yellow"):
        docs.append(ok(zc.run("current/08_gcp_taxi.yaml", f"taxi={taxi}", "year=2019", "month=01")))
        check_taxi_run(zc, docs[-1], taxi)
    zc.assert_no_key_leak(setup, *docs)


@pytest.mark.slow
def test_cohort_2025_gcp_flows_run_unchanged(tmp_path: Path, gcp_emulators: GcpEmulators,
                                             taxi_server: LocalHTTPServer) -> None:
    zc = Zoomcamp(tmp_path / "cohort", gcp_emulators, taxi_server, via_config=True)
    zc.kv_set("GCP_CREDS", SA_JSON, "JSON")
    ok(zc.run("cohort-2025/04_gcp_kv.yaml"))
    ok(zc.run("cohort-2025/05_gcp_setup.yaml"))
    doc = ok(zc.run("cohort-2025/06_gcp_taxi.yaml", "taxi=green", "year=2019", "month=02"))
    check_taxi_run(zc, doc, "green", 2)
    zc.assert_no_key_leak(doc)


def data_path_flow(project_id: str) -> str:
    """Our flow: LoadFromGcs of the uploaded file into the `_ext` table, then 08_gcp_taxi's own CTAS and MERGE."""
    source = yaml.safe_load((COMPAT / "current/08_gcp_taxi.yaml").read_text())
    green = next(t for t in source["tasks"] if t["id"] == "if_green_taxi")["then"]
    sql = {t["id"]: t for t in green}
    load = {"id": "load_ext", "type": "io.kestra.plugin.gcp.bigquery.LoadFromGcs",
            "from": ["{{render(vars.gcs_file)}}"], "destinationTable": f"{project_id}.{{{{render(vars.table)}}}}_ext",
            "format": "CSV", "csvOptions": {"skipLeadingRows": 1}, "writeDisposition": "WRITE_TRUNCATE",
            "ignoreUnknownValues": True}
    flow = {"id": "gcp_data_path", "namespace": "zoomcamp", "inputs": source["inputs"],
            "variables": source["variables"],
            "tasks": [sql["bq_green_tripdata"], sql["bq_green_table_ext"], load, sql["bq_green_table_tmp"],
                      sql["bq_green_merge"]],
            "pluginDefaults": source["pluginDefaults"]}
    return yaml.safe_dump(flow, sort_keys=False)


@pytest.mark.slow
def test_data_path_load_then_the_flows_ctas_and_merge(tmp_path: Path, gcp_emulators: GcpEmulators,
                                                      taxi_server: LocalHTTPServer) -> None:
    zc = Zoomcamp(tmp_path / "datapath", gcp_emulators, taxi_server, via_config=False)
    ok(zc.run("current/06_gcp_kv.yaml"))
    zc.kv_set("GCP_PROJECT_ID", "datapath-project")  # a project of its own: counts are not shared with other tests
    ok(zc.run("current/07_gcp_setup.yaml"))
    ok(zc.run("current/08_gcp_taxi.yaml", "taxi=green", "year=2019", "month=03"))
    main = f"`datapath-project.{DATASET}.green_tripdata`"
    assert gcp_emulators.scalar(f"SELECT count(*) FROM {main}") == 0  # the emulator's external tables are empty
    flow = zc.root / "flows" / "data_path.yaml"
    flow.write_text(data_path_flow("{{kv('GCP_PROJECT_ID')}}"))
    args = ["run", str(flow), "--json", "--input", "taxi=green", "--input", "month=03"]
    first = json.loads(cli(zc.root, *args, env=zc.env).stdout)
    assert first["state"] == "SUCCESS", [(t["taskId"], t["state"]) for t in first["taskRuns"]]
    load = next(t for t in first["taskRuns"] if t["taskId"] == "load_ext")["outputs"]
    assert load["rows"] == N_ROWS and load["destinationTable"].endswith("green_tripdata_2019_03_ext")
    assert gcp_emulators.scalar(f"SELECT count(*) FROM {main}") == N_ROWS
    assert gcp_emulators.scalar(f"SELECT count(DISTINCT unique_row_id) FROM {main}") == N_ROWS
    assert gcp_emulators.scalar(f"SELECT min(filename) FROM {main}") == "green_tripdata_2019-03.csv"
    second = json.loads(cli(zc.root, *args, env=zc.env).stdout)
    assert second["state"] == "SUCCESS"
    assert gcp_emulators.scalar(f"SELECT count(*) FROM {main}") == N_ROWS


@pytest.mark.slow
@pytest.mark.parametrize("rel", ["current/09_gcp_taxi_scheduled.yaml", "cohort-2025/06_gcp_taxi_scheduled.yaml"])
def test_scheduled_flow_backfills_green_2019_q1(rel: str, tmp_path: Path, gcp_emulators: GcpEmulators,
                                                taxi_server: LocalHTTPServer) -> None:
    zc = Zoomcamp(tmp_path / "backfill", gcp_emulators, taxi_server, via_config=rel.startswith("cohort"))
    zc.kv_set("GCP_CREDS", SA_JSON, "JSON")
    kv_flow = "current/06_gcp_kv.yaml" if rel.startswith("current") else "cohort-2025/04_gcp_kv.yaml"
    ok(zc.run(kv_flow))
    zc.kv_set("GCP_BUCKET_NAME", f"backfill-{rel.split('/')[0]}")
    ok(zc.run("current/07_gcp_setup.yaml"))
    flow = copy_flow(rel, zc.root, taxi_server.base)
    done = cli(zc.root, "backfill", str(flow), "--from", "2019-01-01", "--to", "2019-03-31",
               "--trigger", "green_schedule", env=zc.env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    bucket = gcp_emulators.storage_client().bucket(f"backfill-{rel.split('/')[0]}")
    for month in (1, 2, 3):
        blob = bucket.get_blob(taxi_data.file_name("green", 2019, month))
        assert blob is not None and blob.size == len(csv_text("green", month).encode())


MALFORMED = {
    "not JSON": ("{not json", "serviceAccount is not valid JSON"),
    "missing fields": (json.dumps({"type": "service_account", "project_id": "p"}),
                       "serviceAccount JSON lacks private_key, client_email"),
    "not a key": (json.dumps({"type": "service_account", "project_id": "p", "client_email": "a@b.c",
                              "private_key": "SECRET-NOT-PEM-VALUE"}), "private_key is not a PEM private key"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_service_account_is_one_clear_line(case: str, tmp_path: Path, gcp_emulators: GcpEmulators,
                                                     taxi_server: LocalHTTPServer) -> None:
    creds, expected = MALFORMED[case]
    zc = Zoomcamp(tmp_path / "badsa", gcp_emulators, taxi_server, via_config=True)
    ok(zc.run("cohort-2025/04_gcp_kv.yaml"))
    zc.kv_set("GCP_CREDS", creds)
    doc = zc.run("cohort-2025/05_gcp_setup.yaml")
    assert doc["state"] == "FAILED" and doc["exitCode"] == 1
    logs = zc.logs(doc["id"])
    errors = [line for line in logs.splitlines() if "create_gcs_bucket" in line and "ERROR" in line]
    assert len(errors) == 1 and expected in errors[0], logs
    assert "SECRET-NOT-PEM-VALUE" not in logs and "{not json" not in errors[0]


def test_every_task_type_of_the_issue_is_registered_and_tested() -> None:
    """Each GCS/BigQuery type named by the issue is in the registry (or the entries to add) and used by a test."""
    from flowrun.tasks import registry

    tests = "".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    for type_name, target in GCP_TASKS.items():
        assert registry.TASKS.get(type_name, target) == target
        module, cls = target.split(":")
        assert getattr(__import__(module, fromlist=[cls]), cls).__doc__
        assert f"type: {type_name}\n" in tests or f'"{type_name}"' in tests, f"no test uses {type_name}"
