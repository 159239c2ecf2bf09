"""GCS tasks against the storage emulator, through flowrun.yaml's `emulators:` setting and the official client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import SHARED, Project
from gcp_emulators import GcpEmulators, cli
from helpers import outputs

from flowrun.app.inspect import execution_logs

DATA = b"VendorID,fare\n1,2.5\n2,3.75\n"


def setup_project(project: Project, emulators: GcpEmulators) -> None:
    project.config(emulators.config_yaml())


def run(project: Project, text: str, inputs: dict[str, Any] | None = None) -> Any:
    return project.run(project.flow(text), inputs)


def stored(project: Project, uri: str) -> Path:
    return project.home.joinpath("storage", unquote(uri.removeprefix("kestra:///")))


def error_of(project: Project, execution: Any, task_id: str) -> str:
    logs = execution_logs(str(project.home), execution.id, task_id)
    return "\n".join(line["message"] for line in logs if line["level"] == "ERROR")


OPS_FLOW = """
id: gcs_ops
namespace: test.gcp
inputs:
  - id: file
    type: FILE
tasks:
  - id: bucket
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    name: ops-bucket
    storageClass: STANDARD
    labels:
      team: data
  - id: again
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    name: ops-bucket
    ifExists: SKIP
  - id: up
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{ inputs.file }}"
    to: gs://ops-bucket/dir/a file.csv
    contentType: text/csv
  - id: up_sub
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{ inputs.file }}"
    to: gs://ops-bucket/dir/sub/b.csv
  - id: list_dir
    type: io.kestra.plugin.gcp.gcs.List
    from: gs://ops-bucket/dir/
  - id: list_files
    type: io.kestra.plugin.gcp.gcs.List
    from: gs://ops-bucket/dir/
    listingType: RECURSIVE
    filter: FILES
    regExp: ".*\\\\.csv"
  - id: down
    type: io.kestra.plugin.gcp.gcs.Download
    from: "{{ outputs.up.uri }}"
  - id: copy
    type: io.kestra.plugin.gcp.gcs.Copy
    from: gs://ops-bucket/dir/sub/b.csv
    to: gs://ops-bucket/copies/b.csv
  - id: downloads
    type: io.kestra.plugin.gcp.gcs.Downloads
    from: gs://ops-bucket/copies/
    action: DELETE
  - id: delete
    type: io.kestra.plugin.gcp.gcs.Delete
    uri: gs://ops-bucket/dir/sub/b.csv
  - id: delete_again
    type: io.kestra.plugin.gcp.gcs.Delete
    uri: gs://ops-bucket/dir/sub/b.csv
  - id: delete_list
    type: io.kestra.plugin.gcp.gcs.DeleteList
    from: gs://ops-bucket/dir/
    listingType: RECURSIVE
"""


def test_gcs_tasks_round_trip(project: Project, gcp_emulators: GcpEmulators, tmp_path: Path) -> None:
    setup_project(project, gcp_emulators)
    source = tmp_path / "in.csv"
    source.write_bytes(DATA)
    execution = run(project, OPS_FLOW, {"file": str(source)})
    assert execution.state == "SUCCESS", [(t.task_id, t.state) for t in execution.task_runs]

    assert outputs(execution, "bucket")["created"] is True
    assert outputs(execution, "bucket")["bucket"]["name"] == "ops-bucket"
    assert outputs(execution, "again") == {"bucket": outputs(execution, "again")["bucket"], "created": False,
                                           "updated": False}
    assert outputs(execution, "up") == {"uri": "gs://ops-bucket/dir/a+file.csv"}

    listed = outputs(execution, "list_dir")["blobs"]
    assert {(b["name"], b["isDirectory"]) for b in listed} == {("dir/a file.csv", False), ("dir/sub/", True)}
    files = outputs(execution, "list_files")["blobs"]
    assert sorted(b["name"] for b in files) == ["dir/a file.csv", "dir/sub/b.csv"]
    assert all(b["size"] == len(DATA) and b["uri"].startswith("gs://ops-bucket/") for b in files)

    down = outputs(execution, "down")
    assert (down["bucket"], down["path"]) == ("ops-bucket", "dir/a file.csv")
    assert stored(project, down["uri"]).read_bytes() == DATA

    assert outputs(execution, "copy") == {"uri": "gs://ops-bucket/copies/b.csv"}
    got = outputs(execution, "downloads")
    assert list(got["outputFiles"]) == ["copies/b.csv"]
    assert got["blobs"][0]["uri"].startswith("kestra:///")

    assert outputs(execution, "delete") == {"uri": "gs://ops-bucket/dir/sub/b.csv", "deleted": True}
    assert outputs(execution, "delete_again")["deleted"] is False
    assert outputs(execution, "delete_list") == {"count": 1, "size": len(DATA)}
    assert [b.name for b in gcp_emulators.storage_client().list_blobs("ops-bucket")] == []


def test_upload_size_matches_and_update_bucket(project: Project, gcp_emulators: GcpEmulators,
                                               tmp_path: Path) -> None:
    setup_project(project, gcp_emulators)
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (3 * 1024 * 1024 + 17))
    execution = run(project, """
        id: up
        namespace: test.gcp
        inputs:
          - id: file
            type: FILE
        tasks:
          - id: bucket
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: size-bucket
            ifExists: UPDATE
          - id: update
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: size-bucket
            ifExists: UPDATE
            versioningEnabled: true
          - id: up
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{ inputs.file }}"
            to: gs://size-bucket/big.bin
        """, {"file": str(source)})
    assert execution.state == "SUCCESS"
    assert outputs(execution, "update")["updated"] is True
    blob = gcp_emulators.storage_client().bucket("size-bucket").get_blob("big.bin")
    assert blob.size == source.stat().st_size


def test_missing_bucket_fails_with_one_clear_line(project: Project, gcp_emulators: GcpEmulators,
                                                  tmp_path: Path) -> None:
    setup_project(project, gcp_emulators)
    source = tmp_path / "in.csv"
    source.write_bytes(DATA)
    flow = project.flow("""
        id: nobucket
        namespace: test.gcp
        inputs:
          - id: file
            type: FILE
        tasks:
          - id: up
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{ inputs.file }}"
            to: gs://no-such-bucket/x.csv
        """)
    done = cli(project.root, "run", str(flow), "--input", f"file={source}", "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["state"] == "FAILED"
    logs = cli(project.root, "logs", json.loads(done.stdout)["id"]).stdout
    assert "task `up`: upload to gs://no-such-bucket/x.csv failed: bucket `no-such-bucket` does not exist" in logs


@pytest.mark.parametrize(("to", "expected"), [
    ("s3://bucket/x.csv", "`to` must be a gs:// URI like gs://my-bucket/dir/file.csv, got 's3://bucket/x.csv'"),
    ("gs:///x.csv", "`to` has no bucket name"),
    ("gs://Bad_Bucket/x.csv", "`to` has an invalid bucket name 'Bad_Bucket'"),
    ("gs://bucket/", "`to` names no object"),
])
def test_malformed_gs_uri_is_a_clear_error(project: Project, gcp_emulators: GcpEmulators, tmp_path: Path,
                                           to: str, expected: str) -> None:
    setup_project(project, gcp_emulators)
    source = tmp_path / "in.csv"
    source.write_bytes(DATA)
    execution = run(project, f"""
        id: baduri
        namespace: test.gcp
        inputs:
          - id: file
            type: FILE
        tasks:
          - id: up
            type: io.kestra.plugin.gcp.gcs.Upload
            from: "{{{{ inputs.file }}}}"
            to: "{to}"
        """, {"file": str(source)})
    assert execution.state == "FAILED"
    assert expected in error_of(project, execution, "up")


def test_create_bucket_if_exists_error_and_skip(project: Project, gcp_emulators: GcpEmulators) -> None:
    setup_project(project, gcp_emulators)
    gcp_emulators.storage_client().create_bucket("exists-bucket")
    flow = project.flow("""
        id: exists
        namespace: test.gcp
        tasks:
          - id: skip
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: exists-bucket
            ifExists: SKIP
          - id: error
            type: io.kestra.plugin.gcp.gcs.CreateBucket
            name: exists-bucket
        """)
    done = cli(project.root, "run", str(flow), "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    states = {t["taskId"]: t["state"] for t in doc["taskRuns"]}
    assert states == {"skip": "SUCCESS", "error": "FAILED"}
    logs = cli(project.root, "logs", doc["id"]).stdout
    assert "bucket `exists-bucket` already exists and ifExists is ERROR" in logs


# -- auth and endpoints ---------------------------------------------------------------------------------------
def test_emulator_endpoint_env_wins_over_flowrun_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowrun.gcp.clients import emulator_endpoint

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    config = {"storage": "127.0.0.1:9023/", "bigquery": "http://127.0.0.1:9050"}
    assert emulator_endpoint("storage", config) == "http://127.0.0.1:9023"
    assert emulator_endpoint("bigquery", config) == "http://127.0.0.1:9050"
    assert emulator_endpoint("storage", {}) is None
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://localhost:1234")
    assert emulator_endpoint("storage", config) == "http://localhost:1234"


def test_real_endpoints_use_the_key_or_application_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from gcp_emulators import service_account_json

    from flowrun.gcp import auth

    sa_json = service_account_json()
    resolved = auth.resolve(sa_json, None, None, None, emulated=False)
    assert type(resolved.credentials).__name__ == "Credentials" and resolved.project == "kestra-sandbox"
    assert json.loads(sa_json)["private_key"] in resolved.secrets
    assert auth.resolve(sa_json, "other", None, "robot@p.iam.gserviceaccount.com", emulated=False).project == "other"
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent")
    with pytest.raises(auth.CredentialsError, match="no serviceAccount and no Application Default Credentials"):
        auth.resolve(None, None, None, None, emulated=False)
    with pytest.raises(auth.CredentialsError, match=r"^serviceAccount is not valid JSON \(Expecting"):
        auth.resolve("{'single': 'quotes'}", None, None, None, emulated=True)
    assert auth.resolve(None, None, None, None, emulated=True).project == auth.EMULATOR_PROJECT


def test_validate_imports_no_google_module(project: Project) -> None:
    flow = SHARED / "compat/zoomcamp/current/08_gcp_taxi.yaml"
    done = cli(project.root, "validate", str(flow), python_args=("-X", "importtime"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert " google" not in done.stderr.replace("|", " "), "validate imported a google.* module"


def test_unreachable_emulator_fails_fast_and_clearly(project: Project) -> None:
    from gcp_emulators import free_port

    project.config(f"emulators:\n  storage: http://127.0.0.1:{free_port()}\n")
    execution = project.run(project.flow("""
        id: dead
        namespace: test.gcp
        tasks:
          - id: ls
            type: io.kestra.plugin.gcp.gcs.List
            from: gs://some-bucket/
        """))
    assert execution.state == "FAILED"
    assert "the storage emulator at http://127.0.0.1:" in error_of(project, execution, "ls")
    assert "is not reachable" in error_of(project, execution, "ls")
