"""Internal storage URIs and namespace files, each test on both backends: a local dir and the GCS emulator."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gcp_emulators import GcsEmulator

from flowrun.storage.backend import StorageBackend
from flowrun.storage.gcs_backend import GcsBackend
from flowrun.storage.internal import (
    InternalStorage,
    StorageError,
    execution_prefix,
    input_prefix,
    slugify,
    task_prefix,
)
from flowrun.storage.namespace_files import NamespaceFiles, compile_pattern

BUCKET = "flowrun-storage-tests"


@pytest.fixture(params=["local", "gcs"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    """A fresh, empty backend: a local dir, or a prefix of its own in a bucket of the session's GCS emulator."""
    if request.param == "local":
        return InternalStorage(tmp_path / "storage").backend
    gcs: GcsEmulator = request.getfixturevalue("gcs_emulator")
    gcs.bucket(BUCKET)
    return GcsBackend(BUCKET, f"tests/{uuid.uuid4().hex}", gcs.url)


@pytest.fixture
def storage(backend: StorageBackend, tmp_path: Path) -> InternalStorage:
    return InternalStorage(backend, tmp_path / "cache")


@pytest.fixture
def elsewhere(backend: StorageBackend, tmp_path: Path) -> InternalStorage:
    """The same storage as another worker sees it: its own process cache, nothing shared on local disk."""
    return InternalStorage(backend, tmp_path / "other-cache")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "yellow_tripdata_2019-01.csv"
    path.parent.mkdir()
    path.write_text("a,b\n1,2\n")
    return path


@pytest.mark.parametrize(("text", "slug"), [
    ("04_postgres_taxi", "04-postgres-taxi"),
    ("My Flow", "my-flow"),
    ("a__b--c", "a-b-c"),
    ("_hello!_", "hello"),
    ("café", "cafe"),
])
def test_slugify_follows_kestra(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_prefixes_follow_kestra_layout() -> None:
    assert execution_prefix("zoomcamp", "04_postgres_taxi", "E1") == "/zoomcamp/04-postgres-taxi/executions/E1"
    assert task_prefix("a.b", "my_flow", "E1", "extract_it", "T1") == "/a/b/my-flow/executions/E1/tasks/extract-it/T1"
    assert input_prefix("a.b", "f", "E1", "data") == "/a/b/f/executions/E1/inputs/data"


def test_put_file_copies_and_returns_uri(storage: InternalStorage, elsewhere: InternalStorage,
                                        source: Path) -> None:
    prefix = task_prefix("zoomcamp", "04_postgres_taxi", "E1", "extract", "T1")
    uri = storage.put_file(source, prefix)
    assert uri == "kestra:///zoomcamp/04-postgres-taxi/executions/E1/tasks/extract/T1/yellow_tripdata_2019-01.csv"
    assert storage.local_path(uri, prefix).read_text() == "a,b\n1,2\n"
    assert storage.size(uri) == 8
    assert elsewhere.size(uri) == 8 and elsewhere.read_bytes(uri, prefix) == b"a,b\n1,2\n"
    assert elsewhere.local_path(uri).read_text() == "a,b\n1,2\n"


def test_put_file_hashed_name(storage: InternalStorage, source: Path) -> None:
    uri = storage.put_file(source, "/ns/f/executions/E1/tasks/t/T1", hashed=True)
    name = uri.rsplit("/", 1)[1]
    digest, rest = name.split("-", 1)
    assert rest == "yellow_tripdata_2019-01.csv" and len(digest) == 22 and digest.isalnum()


def test_new_file_and_encoded_names(storage: InternalStorage, elsewhere: InternalStorage) -> None:
    path, uri = storage.new_file("/ns/f/executions/E1/tasks/t/T1", "my data.csv")
    path.write_text("x")
    assert uri.endswith("/my%20data.csv")
    assert storage.local_path(uri) == path and storage.exists(uri)
    storage.commit([uri])
    assert elsewhere.local_path(uri).read_text() == "x"
    assert elsewhere.list_prefix("/ns/f/executions/E1") == [uri]


def test_commit_uploads_only_written_reservations(storage: InternalStorage, elsewhere: InternalStorage) -> None:
    written, written_uri = storage.new_file("/ns/f/executions/E1/tasks/t/T1", "a.txt")
    _, never_written = storage.new_file("/ns/f/executions/E1/tasks/t/T1", "b.txt")
    written.write_text("a")
    storage.commit()
    assert elsewhere.exists(written_uri) and not elsewhere.exists(never_written)
    with pytest.raises(StorageError, match="does not exist"):
        elsewhere.local_path(never_written)


@pytest.mark.parametrize("uri", [
    "kestra:///../../etc/passwd",
    "kestra:///ns/../../etc/passwd",
    "kestra:///ns/%2e%2e/%2e%2e/etc/passwd",
])
def test_local_path_rejects_escapes(storage: InternalStorage, uri: str) -> None:
    with pytest.raises(StorageError, match="escapes the internal storage root"):
        storage.local_path(uri)


def test_local_path_rejects_other_schemes(storage: InternalStorage) -> None:
    with pytest.raises(StorageError, match="not an internal storage URI"):
        storage.local_path("file:///etc/passwd")


def test_local_path_missing_file_names_uri(storage: InternalStorage) -> None:
    with pytest.raises(StorageError, match="kestra:///ns/missing.csv"):
        storage.local_path("kestra:///ns/missing.csv")
    with pytest.raises(StorageError, match="kestra:///ns/missing.csv"):
        storage.size("kestra:///ns/missing.csv")
    assert storage.exists("kestra:///ns/missing.csv") is False
    assert storage.delete("kestra:///ns/missing.csv") is False


def test_local_path_enforces_allowed_prefix(storage: InternalStorage, source: Path) -> None:
    other = storage.put_file(source, execution_prefix("ns", "f", "OTHER") + "/tasks/t/T1")
    mine = execution_prefix("ns", "f", "MINE")
    with pytest.raises(StorageError, match="outside this execution's storage"):
        storage.local_path(other, mine)
    assert storage.local_path(other, [mine, execution_prefix("ns", "f", "OTHER")]).is_file()
    with pytest.raises(StorageError, match="outside"):  # a sibling whose name merely starts alike
        storage.local_path(other, execution_prefix("ns", "f", "OTH"))


def test_new_file_rejects_escaping_names(storage: InternalStorage) -> None:
    with pytest.raises(StorageError):
        storage.new_file("/ns/f/executions/E1", "../../../../x")


def test_delete_prefix_and_purge(storage: InternalStorage, elsewhere: InternalStorage, source: Path) -> None:
    first = execution_prefix("ns", "f", "E1")
    second = execution_prefix("ns", "f", "E2")
    uris = [storage.put_file(source, first + "/tasks/a/T1"), storage.put_file(source, first + "/inputs/i")]
    kept = storage.put_file(source, second + "/tasks/a/T1")
    assert elsewhere.local_path(uris[0]).is_file()  # another worker holds a copy, then the files go
    assert storage.delete_prefix(first) == sorted(uris)
    assert not storage.exists(uris[0]) and storage.exists(kept) and not elsewhere.exists(uris[1])
    with pytest.raises(StorageError, match="does not exist"):
        storage.local_path(uris[0])
    assert storage.purge_executions([second, first]) == [kept]
    assert storage.list_prefix(second) == []
    with pytest.raises(StorageError, match="whole internal storage"):
        storage.delete_prefix("/")
    with pytest.raises(StorageError, match="whole internal storage"):
        storage.list_prefix("/ns/..")


def test_delete_one_file(storage: InternalStorage, source: Path) -> None:
    uri = storage.put_file(source, "/ns/f/executions/E1/tasks/a/T1")
    assert storage.delete(uri) is True
    assert storage.delete(uri) is False and not storage.exists(uri)


def test_scoped_storage(storage: InternalStorage, source: Path) -> None:
    scoped = storage.scoped(task_prefix("ns", "f", "E1", "t", "T1"), [execution_prefix("ns", "f", "E1")])
    uri = scoped.put_file(source, "out.csv")
    assert scoped.local_path(uri).name == "out.csv"


# -- namespace files --------------------------------------------------------------------------------


@pytest.fixture
def nsfiles(backend: StorageBackend, tmp_path: Path) -> NamespaceFiles:
    files = NamespaceFiles(backend, tmp_path / "cache")
    for rel in ["main.py", "scripts/etl.py", "scripts/sub/deep.py", "scripts/readme.md",
                "queries/a.sql", "other/scripts/x.py"]:
        files.write("company.team", rel, f"# {rel}".encode())
    return files


@pytest.mark.parametrize(("include", "exclude", "expected"), [
    (None, None, ["main.py", "other/scripts/x.py", "queries/a.sql", "scripts/etl.py", "scripts/readme.md",
                  "scripts/sub/deep.py"]),
    (["scripts/*.py"], None, ["other/scripts/x.py", "scripts/etl.py"]),
    (["/scripts/**"], None, ["scripts/etl.py", "scripts/readme.md", "scripts/sub/deep.py"]),
    (["**.py"], ["**/sub/**"], ["main.py", "other/scripts/x.py", "scripts/etl.py"]),
    (["*.py"], None, ["main.py"]),
    (["regex:/queries/.*\\.sql"], None, ["queries/a.sql"]),
    (["glob:**/*.{sql,md}"], None, ["queries/a.sql", "scripts/readme.md"]),
    (None, ["**.py"], ["queries/a.sql", "scripts/readme.md"]),
    (["scripts/**"], ["scripts/**"], []),
])
def test_list_with_kestra_globs(nsfiles: NamespaceFiles, include: list[str] | None,
                                exclude: list[str] | None, expected: list[str]) -> None:
    assert nsfiles.list("company.team", include, exclude) == expected


def test_star_does_not_cross_slash() -> None:
    assert compile_pattern("glob:/scripts/*.py")("/scripts/etl.py")
    assert not compile_pattern("glob:/scripts/*.py")("/scripts/sub/deep.py")
    assert compile_pattern("glob:/scripts/**.py")("/scripts/sub/deep.py")


def test_read_copy_delete(nsfiles: NamespaceFiles, tmp_path: Path) -> None:
    assert nsfiles.read("company.team", "/scripts/etl.py") == "# scripts/etl.py"
    assert nsfiles.path("company.team", "main.py").read_text() == "# main.py"
    assert nsfiles.exists("company.team", "main.py") and not nsfiles.exists("company.team", "nope.py")
    dest = tmp_path / "wd"
    assert nsfiles.copy_into("company.team", dest, ["/scripts/**"], ["**.md"]) == [
        "scripts/etl.py", "scripts/sub/deep.py"]
    assert (dest / "scripts/sub/deep.py").read_text() == "# scripts/sub/deep.py"
    assert nsfiles.delete("company.team", "main.py") is True
    assert nsfiles.delete("company.team", "main.py") is False
    assert nsfiles.list("unknown.ns") == []


def test_namespace_file_errors(nsfiles: NamespaceFiles) -> None:
    with pytest.raises(StorageError, match="escapes namespace"):
        nsfiles.path("company.team", "../../etc/passwd")
    with pytest.raises(StorageError, match="not a valid namespace"):
        nsfiles.path("../x", "a")
    with pytest.raises(StorageError, match="does not exist in namespace `company.team`"):
        nsfiles.read("company.team", "nope.py")


def test_publish_uploads_new_and_changed_files(nsfiles: NamespaceFiles, tmp_path: Path) -> None:
    local = tmp_path / "project" / "namespace_files"
    (local / "company.team" / "scripts").mkdir(parents=True)
    (local / "company.team" / "main.py").write_text("# main.py")  # the same content: not uploaded again
    (local / "company.team" / "scripts" / "etl.py").write_text("print('v2')")
    (local / "company.team" / "new.sql").write_text("select 1")
    (local / "not a namespace").mkdir()
    (local / "not a namespace" / "x").write_text("ignored")
    assert nsfiles.publish(local) == ["company.team/new.sql", "company.team/scripts/etl.py"]
    assert nsfiles.read("company.team", "scripts/etl.py") == "print('v2')"
    assert nsfiles.read("company.team", "queries/a.sql") == "# queries/a.sql"  # only in the storage: kept
    assert nsfiles.publish(local) == []


def test_copy_from_and_prune_empty_dirs(nsfiles: NamespaceFiles, tmp_path: Path) -> None:
    source = tmp_path / "new.txt"
    source.write_text("new")
    nsfiles.copy_from("company.team", "scripts/sub/new/new.txt", source)
    assert nsfiles.read("company.team", "scripts/sub/new/new.txt") == "new"
    gone = ["scripts/sub/deep.py", "scripts/sub/new/new.txt"]
    assert all(nsfiles.delete("company.team", rel) for rel in gone)
    assert nsfiles.prune_empty_dirs("company.team", gone) == ["scripts/sub/new", "scripts/sub"]
    assert "scripts/etl.py" in nsfiles.list("company.team")
