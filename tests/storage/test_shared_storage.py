"""A shared storage (`storage: gs://...` or a shared dir): files written under one FLOWRUN_HOME are read under another."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from gcp_emulators import GcsEmulator, free_port
from helpers import assert_clean, assert_clean_error, flow_text, outputs

from flowrun.errors import UsageError
from flowrun.project import open_project
from flowrun.storage.backend import StorageError
from flowrun.storage.gcs_backend import GcsBackend
from flowrun.storage.internal import InternalStorage
from flowrun.storage.location import open_storage
from flowrun.storage.spec import parse_storage

BUCKET = "flowrun-shared"
GREETING = "hello from the writer's namespace files\n"


def two_projects(tmp_path: Path, config: str) -> tuple[Project, Project]:
    """Two project dirs, each with its own state dir: the writer has local namespace files, the reader none."""
    writer, reader = Project(tmp_path / "writer"), Project(tmp_path / "reader")
    for project, flow in ((writer, "writer.yaml"), (reader, "reader.yaml")):
        project.flow(flow_text(f"shared_storage/{flow}"), flow)
        project.config(config)
    greeting = writer.root / "namespace_files" / "demo.shared" / "greeting.txt"
    greeting.parent.mkdir(parents=True)
    greeting.write_text(GREETING)
    return writer, reader


def run_json(project: Project, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = project.cli("run", *args, "--json", env=env)
    assert_clean(result, 0)
    return dict(result.json())


def task_outputs(execution: dict[str, Any], task_id: str) -> dict[str, Any]:
    return dict(next(tr["outputs"] for tr in execution["taskRuns"] if tr["taskId"] == task_id))


def local_files(home: Path) -> list[Path]:
    """Files under a state dir's default storage and storage cache (which a shared storage leaves empty); the
    validated-flow and config caches (cache/flows, cache/config) hold no storage file."""
    validated = (home / "cache" / "flows", home / "cache" / "config")
    return [p for sub in ("storage", "cache") for p in (home / sub).rglob("*")
            if p.is_file() and not any(folder in p.parents for folder in validated)]


def test_gcs_storage_carries_outputs_inputs_and_namespace_files_across_homes(
        gcs_emulator: GcsEmulator, tmp_path: Path) -> None:
    bucket = gcs_emulator.bucket(BUCKET)
    prefix = f"e2e/{uuid.uuid4().hex}"
    config = f"storage: gs://{BUCKET}/{prefix}\nemulators:\n  storage: {gcs_emulator.url}\n"
    writer, reader = two_projects(tmp_path, config)
    upload = tmp_path / "upload.txt"
    upload.write_text("uploaded input\n")

    first = run_json(writer, "flows/writer.yaml", "--input", f"upload={upload}")
    text_uri = task_outputs(first, "make")["outputFiles"]["out.txt"]
    rows_uri = task_outputs(first, "query")["uri"]
    second = run_json(reader, "flows/reader.yaml", "--input", f"text={text_uri}", "--input", f"rows={rows_uri}")

    shown = task_outputs(second, "show")["value"]
    assert shown.startswith(GREETING + "uploaded input\n") and shown.endswith("|" + GREETING)
    assert "42" in shown  # the DuckDB rows file (Ion) the writer's query stored through new_file
    names = {blob.name for blob in bucket.list_blobs(prefix=prefix + "/")}
    assert f"{prefix}/namespace_files/demo.shared/greeting.txt" in names
    assert f"{prefix}{first['inputs']['upload'].removeprefix('kestra://')}" in names
    assert f"{prefix}{rows_uri.removeprefix('kestra://')}" in names
    assert not local_files(writer.home) and not local_files(reader.home)  # caches go with their process

    result = writer.cli("purge", "--before", (date.today() + timedelta(days=2)).isoformat(), "--yes")
    assert_clean(result, 0)
    assert "purged 1 execution(s) and 3 file(s)" in result.stdout  # its input, out.txt and the rows file
    left = {blob.name for blob in bucket.list_blobs(prefix=f"{prefix}/demo/shared/writer/")}
    assert left == set(), left
    assert f"{prefix}/namespace_files/demo.shared/greeting.txt" in {b.name for b in bucket.list_blobs(prefix=prefix)}


def test_shared_dir_storage_across_homes(tmp_path: Path) -> None:
    shared = tmp_path / "mnt" / "shared"
    writer, reader = two_projects(tmp_path, f"storage: {shared}\n")
    upload = tmp_path / "upload.txt"
    upload.write_text("uploaded input\n")

    first = writer.run("flows/writer.yaml", {"upload": str(upload)})
    text_uri = outputs(first, "make")["outputFiles"]["out.txt"]
    second = reader.run("flows/reader.yaml", {"text": text_uri, "rows": outputs(first, "query")["uri"]})

    assert second.state == "SUCCESS"
    assert outputs(second, "show")["value"].startswith(GREETING + "uploaded input\n")
    assert outputs(second, "show")["value"].endswith("|" + GREETING)
    assert (shared / text_uri.removeprefix("kestra:///")).read_text() == GREETING + "uploaded input\n"
    assert (shared / "namespace_files" / "demo.shared" / "greeting.txt").read_text() == GREETING
    assert not local_files(writer.home) and not local_files(reader.home)


def test_namespace_file_tasks_write_to_the_gcs_storage(gcs_emulator: GcsEmulator, tmp_path: Path) -> None:
    bucket = gcs_emulator.bucket(BUCKET)
    prefix = f"e2e/{uuid.uuid4().hex}"
    writer, reader = two_projects(tmp_path, f"storage: gs://{BUCKET}/{prefix}\n"
                                            f"emulators:\n  storage: {gcs_emulator.url}\n")
    writer.flow(flow_text("shared_storage/sync.yaml"), "sync.yaml")
    reader.flow(flow_text("shared_storage/ns-read.yaml"), "ns-read.yaml")
    upload = tmp_path / "upload.txt"
    upload.write_text("synced\n")

    synced = writer.run("flows/sync.yaml", {"file": str(upload)})
    assert synced.state == "SUCCESS", [tr.error for tr in synced.task_runs]
    assert sorted(outputs(synced, "download")["files"]) == ["/greeting.txt", "/up/deep/x.txt"]
    nsfiles = f"{prefix}/namespace_files/demo.shared"
    assert bucket.blob(f"{nsfiles}/up/deep/x.txt").download_as_bytes() == b"synced\n"
    assert not (writer.root / "namespace_files" / "demo.shared" / "up").exists()  # the storage, not the local dir

    read_back = reader.run("flows/ns-read.yaml")
    assert read_back.state == "SUCCESS", [tr.error for tr in read_back.task_runs]
    assert outputs(read_back, "show")["value"] == "synced\n"
    assert [b.name for b in bucket.list_blobs(prefix=f"{nsfiles}/")] == [f"{nsfiles}/greeting.txt"]


def test_env_wins_over_config_and_default_stays_in_home(project: Project, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("FLOWRUN_STORAGE", raising=False)
    storage, files = open_storage(open_project(str(project.home)))
    assert storage.location == str(project.home / "storage")
    assert files.backend.location == str(project.root / "namespace_files")
    project.config("storage: shared/files\n")
    storage, files = open_storage(open_project(str(project.home)))
    assert storage.location == str(project.root / "shared" / "files")
    assert files.backend.location == str(project.root / "shared" / "files" / "namespace_files")
    monkeypatch.setenv("FLOWRUN_STORAGE", "gs://my-bucket/some/prefix/")
    storage, files = open_storage(open_project(str(project.home)))
    assert (storage.location, files.backend.location) == (
        "gs://my-bucket/some/prefix", "gs://my-bucket/some/prefix/namespace_files")


@pytest.mark.parametrize(("value", "message"), [
    ("s3://bucket/x", "must be gs://bucket/prefix or a directory"),
    ("", "must be gs://bucket/prefix or a directory"),
    ("gs://", "has no bucket name"),
    ("gs://UPPER/x", "invalid bucket name"),
])
def test_bad_storage_values(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_storage(value, Path("."), "storage")


def test_bad_storage_settings_exit_before_running(project: Project) -> None:
    project.flow("id: f\nnamespace: demo\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
                 "    message: hi\n")
    result = project.cli("run", "flows/flow.yaml", env={"FLOWRUN_STORAGE": "s3://bucket/x"})
    assert_clean_error(result, 2, "FLOWRUN_STORAGE must be gs://bucket/prefix or a directory")
    project.config("maxParallel: 2\nstorage: gs://UPPER/x\n")
    result = project.cli("run", "flows/flow.yaml")
    assert_clean_error(result, 3, "flowrun.yaml:2", "invalid bucket name")


def test_gcs_backend_refuses_unclean_keys_and_names_an_unreachable_emulator(tmp_path: Path) -> None:
    dead = GcsBackend("bucket", "p", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError, match="escapes the internal storage root"):
        dead.exists("a/../../x")
    with pytest.raises(StorageError, match="not a clean storage key"):
        dead.exists("a/../x")
    storage = InternalStorage(dead, tmp_path / "cache")
    with pytest.raises(StorageError, match="escapes the internal storage root"):
        storage.local_path("kestra:///p/../../other-prefix/x")
    with pytest.raises(StorageError, match=r"storage emulator at http://127\.0\.0\.1:\d+ is not reachable"):
        storage.local_path("kestra:///ns/f/x.csv")


def test_local_backend_refuses_a_symlink_out_of_its_root(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    (root / "ns").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    os.symlink(outside, root / "ns" / "link.txt")
    with pytest.raises(StorageError, match="escapes the internal storage root"):
        InternalStorage(root).local_path("kestra:///ns/link.txt")


def test_a_missing_bucket_fails_the_run_with_exit_4(gcs_emulator: GcsEmulator, tmp_path: Path) -> None:
    writer, _ = two_projects(tmp_path, f"storage: gs://no-such-bucket-{uuid.uuid4().hex[:8]}/x\n"
                                       f"emulators:\n  storage: {gcs_emulator.url}\n")
    upload = tmp_path / "upload.txt"
    upload.write_text("x")
    result = writer.cli("run", "flows/writer.yaml", "--input", f"upload={upload}")
    assert_clean_error(result, 4, "bucket `no-such-bucket-", "does not exist", "gcloud storage buckets create")
