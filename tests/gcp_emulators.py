"""Session fixtures: the GCS emulator (disk mode) and bqemulator on loopback ports, from a cached side venv.

`gcs_emulator` starts the GCS emulator alone (about a second); `gcp_emulators` adds bqemulator beside it.

bqemulator pins a DuckDB that conflicts with flowrun's, and tries to download the `spatial` extension at start,
so both emulators run from their own venv (built once with uv under ~/.cache/flowrun-test, reused afterwards),
with the spatial extension installed from its PyPI wheel into a DuckDB home of their own (emulators.md).
A fixture that cannot start an emulator fails the tests loudly; nothing is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CACHE = Path(os.environ.get("FLOWRUN_TEST_CACHE", Path.home() / ".cache" / "flowrun-test"))
VENV = CACHE / "bqemu-venv"
DUCKDB_HOME = CACHE / "bqemu-home"
REQUIREMENTS = ["bqemulator", "duckdb==1.5.5", "duckdb-extension-spatial==1.5.5", "numpy", "gcp-storage-emulator"]
STAMP = VENV / ".flowrun-ready"
PROJECT = "kestra-sandbox"


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        pytest.fail("uv is needed to build the emulators' venv (it is a flowrun dependency): not found")
    return found


def ensure_venv() -> Path:
    """The emulators' venv, built on first use (under a file lock, so parallel sessions share it)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = "\n".join(REQUIREMENTS)
    with open(CACHE / ".bqemu.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.is_file() and STAMP.read_text() == wanted:
            return VENV
        uv = _uv()
        steps = [[uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(VENV)],
                 [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(VENV / "bin" / "python"),
                  *REQUIREMENTS]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                pytest.fail(f"building the emulators' venv failed: {' '.join(step)}\n{done.stderr[-3000:]}")
        _install_spatial()
        STAMP.write_text(wanted)
    return VENV


def _install_spatial() -> None:
    """Install the spatial extension shipped in the wheel into DuckDB's extension dir for DUCKDB_HOME."""
    DUCKDB_HOME.mkdir(parents=True, exist_ok=True)
    script = ("import duckdb, duckdb_extension_spatial, pathlib; "
              "p = next(pathlib.Path(duckdb_extension_spatial.__file__).parent.rglob('spatial.duckdb_extension')); "
              "c = duckdb.connect(); c.install_extension(str(p)); c.load_extension('spatial'); print(p)")
    done = subprocess.run([str(VENV / "bin" / "python"), "-c", script], capture_output=True, text=True,
                          env={**os.environ, "HOME": str(DUCKDB_HOME)}, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"installing DuckDB's spatial extension for bqemulator failed:\n{done.stderr[-3000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulator:
    """One emulator process: its URL, log file and process group."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def wait_ready(self, probe: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + probe, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers: ready
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"the {self.name} emulator did not start at {self.url} (exit {self.proc.returncode}):\n"
                    f"{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _spawn(name: str, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@dataclass
class GcpEmulators:
    """Both emulators: where they listen, where GCS objects live on disk, and official clients for checks."""

    storage: Emulator
    bigquery: Emulator
    data_dir: Path
    project: str = PROJECT
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gcs_root(self) -> Path:
        """`<data dir>/.cloudstorage`: objects are files `<bucket>/<name>` there (bqemulator reads them)."""
        return self.data_dir / ".cloudstorage"

    @property
    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.storage.url, "BIGQUERY_EMULATOR_HOST": self.bigquery.url}

    def config_yaml(self) -> str:
        """The `emulators:` block of a flowrun.yaml pointing at these emulators."""
        return f"emulators:\n  storage: {self.storage.url}\n  bigquery: {self.bigquery.url}\n"

    def storage_client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[attr-defined]

        return storage.Client(project=self.project, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.storage.url})

    def bigquery_client(self, project: str | None = None) -> Any:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=project or self.project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.bigquery.url))

    def scalar(self, sql: str, project: str | None = None) -> Any:
        rows = list(self.bigquery_client(project).query(sql).result())
        return rows[0][0] if rows else None


@dataclass
class GcsEmulator:
    """The storage emulator alone (what the internal-storage tests need): its process, data dir and a client."""

    storage: Emulator
    data_dir: Path
    project: str = PROJECT

    @property
    def url(self) -> str:
        return self.storage.url

    def storage_client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[attr-defined]

        return storage.Client(project=self.project, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.storage.url})

    def bucket(self, name: str) -> Any:
        """The bucket `name`, created when missing."""
        client = self.storage_client()
        return client.lookup_bucket(name) or client.create_bucket(name)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST")}


@contextmanager
def running_gcs(base: Path) -> Iterator[GcsEmulator]:
    """Start the GCS emulator in disk mode with its data under `base/gcs`; stop it on exit."""
    venv = ensure_venv()
    data = base / "gcs"
    (data / ".cloudstorage").mkdir(parents=True, exist_ok=True)
    port = free_port()
    gcs = Emulator("storage", f"http://127.0.0.1:{port}", _spawn(
        "storage", [str(venv / "bin" / "gcp-storage-emulator"), "-d", str(data), "start", "--host", "127.0.0.1",
                    "--port", str(port)], base / "gcs.log", _clean_env()), base / "gcs.log")
    try:
        gcs.wait_ready("/storage/v1/b?project=probe", 20)
        yield GcsEmulator(gcs, data)
    finally:
        gcs.stop()


@contextmanager
def running_bigquery(base: Path, gcs: GcsEmulator) -> Iterator[GcpEmulators]:
    """Start bqemulator (reading `gcs`'s objects) beside a running GCS emulator; stop it on exit."""
    venv = ensure_venv()
    rest, grpc = free_port(), free_port()
    bq_env = {**_clean_env(), "HOME": str(DUCKDB_HOME), "BQEMU_GCS_LOCAL_ROOT": str(gcs.data_dir / ".cloudstorage")}
    bq = Emulator("bigquery", f"http://127.0.0.1:{rest}", _spawn(
        "bigquery", [str(venv / "bin" / "bqemulator"), "start", "--rest-host", "127.0.0.1", "--rest-port",
                     str(rest), "--grpc-port", str(grpc), "--project", PROJECT, "--log-level", "warning"],
        base / "bq.log", bq_env), base / "bq.log")
    try:
        bq.wait_ready(f"/bigquery/v2/projects/{PROJECT}/datasets", 60)
        yield GcpEmulators(gcs.storage, bq, gcs.data_dir)
    finally:
        bq.stop()


@contextmanager
def running_emulators(base: Path) -> Iterator[GcpEmulators]:
    """Start both emulators with their data under `base`; stop them on exit (also used by bench/bench_gcp.py)."""
    with running_gcs(base) as gcs, running_bigquery(base, gcs) as emulators:
        yield emulators


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    with running_gcs(tmp_path_factory.mktemp("gcs-emulator")) as gcs:
        yield gcs


@pytest.fixture(scope="session")
def gcp_emulators(gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcpEmulators]:
    """Both emulators; the GCS one is the session's `gcs_emulator`."""
    with running_bigquery(tmp_path_factory.mktemp("bq-emulator"), gcs_emulator) as emulators:
        yield emulators

GCS = "io.kestra.plugin.gcp.gcs"
BQ = "io.kestra.plugin.gcp.bigquery"
#: the task types issue 7 adds, as the registry maps them
GCP_TASKS = {
    **{f"{GCS}.{name}": f"flowrun.tasks.gcs:{name}" for name in (
        "Upload", "Download", "Downloads", "List", "Delete", "DeleteList", "Copy", "CreateBucket")},
    **{f"{BQ}.{name}": f"flowrun.tasks.bigquery:{name}" for name in (
        "Query", "CreateDataset", "CreateTable", "DeleteDataset", "DeleteTable", "Load", "LoadFromGcs",
        "ExtractToGcs")},
}


def cli(project_root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
        python_args: tuple[str, ...] = ()) -> Any:
    """Run `flowrun ARGS` in a subprocess with the project's state dir."""
    full_env = {**os.environ, "FLOWRUN_HOME": str(project_root / ".flowrun"), **(env or {})}
    return subprocess.run([sys.executable, *python_args, "-m", "flowrun", *args], cwd=project_root, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def service_account_json(project: str = "kestra-sandbox") -> str:
    """A service-account key of the real shape, with a freshly generated RSA key (never used for anything)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "0123456789abcdef",
        "private_key": pem, "client_email": f"kestra@{project}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"})
