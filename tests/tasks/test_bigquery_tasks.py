"""BigQuery tasks against bqemulator (with the GCS emulator for gs:// loads and extracts), via the official clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Project
from gcp_emulators import GcpEmulators, cli
from helpers import outputs

from flowrun import ion
from flowrun.app.inspect import execution_logs

PROJECT = "kestra-sandbox"


def run(project: Project, emulators: GcpEmulators, text: str, inputs: dict[str, Any] | None = None) -> Any:
    project.config(emulators.config_yaml())
    return project.run(project.flow(text), inputs)


def log_text(project: Project, execution: Any, level: str | None = None) -> str:
    return "\n".join(f"{line['level']} {line['message']}" for line in execution_logs(str(project.home),
                     execution.id) if level is None or line["level"] == level)


def test_query_fetch_types_and_job_records(project: Project, gcp_emulators: GcpEmulators) -> None:
    execution = run(project, gcp_emulators, """
        id: bq_fetch
        namespace: test.gcp
        pluginDefaults:
          - type: io.kestra.plugin.gcp
            values:
              projectId: kestra-sandbox
              location: EU
              bucket: ignored-by-every-task
        tasks:
          - id: dataset
            type: io.kestra.plugin.gcp.bigquery.CreateDataset
            name: fetch_ds
          - id: create
            type: io.kestra.plugin.gcp.bigquery.Query
            sql: |
              CREATE TABLE fetch_ds.t AS
              SELECT 1 AS id, 'a' AS name, NUMERIC '2.50' AS amount, DATE '2019-01-02' AS day
              UNION ALL SELECT 2, 'b', NUMERIC '3.25', DATE '2019-01-03'
          - id: fetch
            type: io.kestra.plugin.gcp.bigquery.Query
            fetch: true
            sql: SELECT id, name, amount, day FROM fetch_ds.t ORDER BY id
          - id: one
            type: io.kestra.plugin.gcp.bigquery.Query
            fetchType: FETCH_ONE
            defaultDataset: fetch_ds
            labels:
              team: data
            jobTimeout: PT1M
            sql: SELECT count(*) AS n FROM t
          - id: store
            type: io.kestra.plugin.gcp.bigquery.Query
            store: true
            sql: SELECT id, name FROM fetch_ds.t ORDER BY id
          - id: to_table
            type: io.kestra.plugin.gcp.bigquery.Query
            destinationTable: fetch_ds.copy
            writeDisposition: WRITE_TRUNCATE
            createDisposition: CREATE_IF_NEEDED
            sql: SELECT id FROM fetch_ds.t
        """)
    assert execution.state == "SUCCESS", log_text(project, execution, "ERROR")
    assert outputs(execution, "dataset") == {"dataset": "fetch_ds", "project": PROJECT, "location": "EU"}
    fetched = outputs(execution, "fetch")
    assert fetched["rows"] == [{"id": 1, "name": "a", "amount": 2.5, "day": "2019-01-02"},
                               {"id": 2, "name": "b", "amount": 3.25, "day": "2019-01-03"}]
    assert fetched["size"] == 2
    assert outputs(execution, "one")["row"] == {"n": 2}
    stored = outputs(execution, "store")
    assert stored["size"] == 2
    path = project.home / "storage" / stored["uri"].removeprefix("kestra:///")
    assert ion.read_values(path) == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    dest = outputs(execution, "to_table")["destinationTable"]
    assert dest == {"project": PROJECT, "dataset": "fetch_ds", "table": "copy"}
    logs = log_text(project, execution, "INFO")
    for task_id in ("create", "fetch", "one", "store", "to_table"):
        job_id = outputs(execution, task_id)["jobId"]
        assert job_id.startswith("kestra_")
        assert f"BigQuery query job {job_id}" in logs
    assert "started: SELECT id, name, amount, day FROM fetch_ds.t ORDER BY id" in logs


def test_datasets_and_tables_lifecycle(project: Project, gcp_emulators: GcpEmulators) -> None:
    execution = run(project, gcp_emulators, """
        id: bq_ddl
        namespace: test.gcp
        tasks:
          - id: dataset
            type: io.kestra.plugin.gcp.bigquery.CreateDataset
            projectId: kestra-sandbox
            name: ddl_ds
            description: made by a test
            friendlyName: DDL
          - id: skip
            type: io.kestra.plugin.gcp.bigquery.CreateDataset
            projectId: kestra-sandbox
            name: ddl_ds
            ifExists: SKIP
          - id: table
            type: io.kestra.plugin.gcp.bigquery.CreateTable
            projectId: kestra-sandbox
            dataset: ddl_ds
            table: trips
            friendlyName: trips
            tableDefinition:
              type: TABLE
              schema:
                fields:
                  - name: id
                    type: INT64
                    mode: REQUIRED
                  - name: pickup
                    type: TIMESTAMP
              standardTableDefinition:
                clustering: [id]
          - id: drop_table
            type: io.kestra.plugin.gcp.bigquery.DeleteTable
            projectId: kestra-sandbox
            dataset: ddl_ds
            table: trips
          - id: drop_dataset
            type: io.kestra.plugin.gcp.bigquery.DeleteDataset
            projectId: kestra-sandbox
            name: ddl_ds
            deleteContents: true
        """)
    assert execution.state == "SUCCESS", log_text(project, execution, "ERROR")
    assert outputs(execution, "dataset")["description"] == "made by a test"
    assert outputs(execution, "skip")["dataset"] == "ddl_ds"
    table = outputs(execution, "table")
    assert (table["projectId"], table["datasetId"], table["table"]) == (PROJECT, "ddl_ds", "trips")
    assert [f["name"] for f in table["definition"]["schema"]["fields"]] == ["id", "pickup"]
    assert outputs(execution, "drop_table") == {"projectId": PROJECT, "datasetId": "ddl_ds", "table": "trips"}
    assert outputs(execution, "drop_dataset") == {"dataset": "ddl_ds"}
    assert "ddl_ds" not in [d.dataset_id for d in gcp_emulators.bigquery_client().list_datasets()]


def test_load_from_internal_storage_and_gcs_then_extract(project: Project, gcp_emulators: GcpEmulators,
                                                         tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("id,name\n1,ana\n2,bo\n3,cy\n")
    storage = gcp_emulators.storage_client()
    bucket = storage.bucket("load-bucket") if storage.lookup_bucket("load-bucket") else \
        storage.create_bucket("load-bucket")
    bucket.blob("in/people.csv").upload_from_filename(str(source))
    execution = run(project, gcp_emulators, """
        id: bq_load
        namespace: test.gcp
        inputs:
          - id: file
            type: FILE
        pluginDefaults:
          - type: io.kestra.plugin.gcp.bigquery
            values:
              projectId: kestra-sandbox
        tasks:
          - id: dataset
            type: io.kestra.plugin.gcp.bigquery.CreateDataset
            name: load_ds
          - id: load
            type: io.kestra.plugin.gcp.bigquery.Load
            from: "{{ inputs.file }}"
            destinationTable: load_ds.people
            format: CSV
            csvOptions:
              skipLeadingRows: 1
            schema:
              fields:
                - name: id
                  type: INT64
                - name: name
                  type: STRING
          - id: load_gcs
            type: io.kestra.plugin.gcp.bigquery.LoadFromGcs
            from:
              - gs://load-bucket/in/*.csv
            destinationTable: kestra-sandbox.load_ds.people
            writeDisposition: WRITE_APPEND
            csvOptions:
              skipLeadingRows: 1
          - id: count
            type: io.kestra.plugin.gcp.bigquery.Query
            fetchOne: true
            sql: SELECT count(*) AS n, count(DISTINCT name) AS names FROM load_ds.people
          - id: extract
            type: io.kestra.plugin.gcp.bigquery.ExtractToGcs
            sourceTable: load_ds.people
            destinationUris:
              - gs://load-bucket/people-export.csv
            format: CSV
            printHeader: true
        """, {"file": str(source)})
    assert execution.state == "SUCCESS", log_text(project, execution, "ERROR")
    load = outputs(execution, "load")
    assert load["rows"] == 3 and load["destinationTable"] == f"{PROJECT}.load_ds.people" and load["jobId"]
    # bqemulator reports a load's outputRows as the table's row count after the load (3 + 3), not the rows added
    assert outputs(execution, "load_gcs")["rows"] == 6
    assert outputs(execution, "count")["row"] == {"n": 6, "names": 3}
    extract = outputs(execution, "extract")
    assert extract["sourceTable"] == "people" and extract["destinationUris"] == ["gs://load-bucket/people-export.csv"]
    # the emulator writes extracts straight into the storage emulator's directory
    exported = (gcp_emulators.gcs_root / "load-bucket" / "people-export.csv").read_text()
    assert exported.splitlines()[0] == "id,name" and len(exported.splitlines()) == 7


def test_load_of_an_empty_file_fails_unless_allowed(project: Project, gcp_emulators: GcpEmulators,
                                                    tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    execution = run(project, gcp_emulators, """
        id: bq_empty
        namespace: test.gcp
        inputs:
          - id: file
            type: FILE
        tasks:
          - id: allowed
            type: io.kestra.plugin.gcp.bigquery.Load
            from: "{{ inputs.file }}"
            destinationTable: kestra-sandbox.none.none
            failedOnEmpty: false
          - id: refused
            type: io.kestra.plugin.gcp.bigquery.Load
            from: "{{ inputs.file }}"
            destinationTable: kestra-sandbox.none.none
        """, {"file": str(empty)})
    assert execution.state == "FAILED"
    assert outputs(execution, "allowed") == {"rows": 0}
    assert "task `refused`: cannot load an empty file" in log_text(project, execution, "ERROR")


def failed_run(project: Project, emulators: GcpEmulators, task_yaml: str) -> str:
    """Run a one-task flow through the CLI; check exit code 1 and FAILED; return the task's ERROR log lines."""
    project.config(emulators.config_yaml())
    flow = project.flow("id: fails\nnamespace: test.gcp\ntasks:\n" + task_yaml)
    done = cli(project.root, "run", str(flow), "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["state"] == "FAILED"
    logs = cli(project.root, "logs", doc["id"]).stdout
    # the message is one line; the evidence follows it as indented `key: value` lines
    return "\n".join(line for line in logs.splitlines() if "ERROR" in line and ":   " not in line)


def test_missing_dataset_is_one_clear_line(project: Project, gcp_emulators: GcpEmulators) -> None:
    errors = failed_run(project, gcp_emulators, """
  - id: q
    type: io.kestra.plugin.gcp.bigquery.Query
    projectId: kestra-sandbox
    sql: SELECT * FROM no_such_dataset.t
""")
    assert len(errors.splitlines()) == 1, errors
    assert "task `q`: BigQuery query job kestra_" in errors
    assert "Dataset kestra-sandbox:no_such_dataset was not found" in errors and "(notFound)" in errors


def test_bad_sql_is_one_clear_line(project: Project, gcp_emulators: GcpEmulators) -> None:
    errors = failed_run(project, gcp_emulators, """
  - id: q
    type: io.kestra.plugin.gcp.bigquery.Query
    projectId: kestra-sandbox
    sql: SELEC 1
""")
    assert len(errors.splitlines()) == 1, errors
    assert "task `q`: BigQuery query job kestra_" in errors
    assert 'Syntax error: Unexpected identifier "SELEC"' in errors and "(invalidQuery)" in errors


def test_create_dataset_if_exists_error(project: Project, gcp_emulators: GcpEmulators) -> None:
    gcp_emulators.bigquery_client().create_dataset(f"{PROJECT}.exists_ds", exists_ok=True)
    errors = failed_run(project, gcp_emulators, """
  - id: skip
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    projectId: kestra-sandbox
    name: exists_ds
    ifExists: SKIP
  - id: again
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    projectId: kestra-sandbox
    name: exists_ds
    ifExists: ERROR
""")
    assert "task `again`: dataset `exists_ds` already exists and ifExists is ERROR" in errors
    assert "skip" not in errors
