"""Real scale-out clusters for the tests: an orchestrating project and `flowrun worker` subprocesses.

Each worker has its own project dir (a copy of flowrun.yaml, no flows) and its own FLOWRUN_HOME; they share
only what a deployment shares: the Postgres state (FLOWRUN_STATE), the broker, the storage bucket and the
secret key (`secret.key`, copied, as an operator would). Queue names are unique per cluster, so clusters of
parallel tests never take each other's messages.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult
from helpers import flow_text

READY = " ready."


@dataclass
class WorkerProcess:
    name: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def home(self) -> Path:
        return self.root / ".flowrun"

    def kill9(self) -> None:
        """kill -9 of the worker's whole process group (the worker, its threads' task processes)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM to the worker's group (Celery's warm shutdown); `wait_stopped` waits for it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def wait_stopped(self) -> None:
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Cluster:
    root: Path
    broker: str
    state_url: str
    extra_config: str = ""
    env: dict[str, str] = field(default_factory=dict)
    queue: str = field(default_factory=lambda: f"flowrun-test-{uuid.uuid4().hex[:10]}")
    workers: dict[str, WorkerProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from cryptography.fernet import Fernet

        self.project.mkdir(parents=True, exist_ok=True)
        (self.project / "flows").mkdir(exist_ok=True)
        (self.project / "flowrun.yaml").write_text(self.config_text())
        self.home.mkdir(parents=True, exist_ok=True)
        key = self.home / "secret.key"
        key.write_bytes(Fernet.generate_key())
        key.chmod(0o600)

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def home(self) -> Path:
        return self.project / ".flowrun"

    def queue_named(self, suffix: str) -> str:
        """A queue of this cluster only (a task's workerGroup.key)."""
        return f"{self.queue}.{suffix}"

    def config_text(self) -> str:
        return (f"executor:\n  type: celery\n  broker: {self.broker}\n  queue: {self.queue}\n"
                f"  lostAfter: PT3S\n  heartbeat: PT0.5S\n{self.extra_config}")

    def process_env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "FLOWRUN_HOME": str(home), "FLOWRUN_STATE": self.state_url, **self.env,
                **(extra or {})}

    def flow(self, source: str, **values: Any) -> Path:
        path = self.project / "flows" / Path(source).name
        path.write_text(flow_text(source, **values))
        return path

    def start_worker(self, name: str, queues: list[str] | None = None, concurrency: int = 1,
                     env: dict[str, str] | None = None) -> WorkerProcess:
        root = self.root / f"worker-{name}"
        (root / ".flowrun").mkdir(parents=True, exist_ok=True)
        shutil.copy(self.project / "flowrun.yaml", root / "flowrun.yaml")
        shutil.copy(self.home / "secret.key", root / ".flowrun" / "secret.key")
        log = root / "worker.log"
        args = [sys.executable, "-m", "flowrun", "worker", "--concurrency", str(concurrency), "--name", name,
                "--queues", ",".join(queues or [self.queue]), "--loglevel", "INFO"]
        with log.open("wb") as sink:
            proc = subprocess.Popen(args, cwd=root, env=self.process_env(root / ".flowrun", env), stdout=sink,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        worker = self.workers[name] = WorkerProcess(name, root, proc, log)
        deadline = time.monotonic() + 60
        while READY not in worker.log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                worker.stop()
                pytest.fail(f"worker {name} did not start (exit {proc.poll()}):\n{worker.tail()}")
            time.sleep(0.1)
        return worker

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> CliResult:
        done = subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=self.project,
                              env=self.process_env(self.home, env), capture_output=True, text=True, timeout=timeout)
        return CliResult(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "flowrun", *args], cwd=self.project,
                                env=self.process_env(self.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def store(self) -> Any:
        from flowrun.state.postgres import PostgresStore

        return PostgresStore(self.state_url)

    def close(self) -> None:
        for worker in self.workers.values():  # every worker shuts down at once, not one after the other
            worker.terminate()
        for worker in self.workers.values():
            worker.wait_stopped()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.tail()}" for w in self.workers.values())


def create_database(pg_server: Any) -> tuple[str, str]:
    """(name, URL) of a new database of its own."""
    name = f"flowrun_scaleout_{uuid.uuid4().hex[:12]}"
    with pg_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql://{pg_server.user}@{pg_server.host}:{pg_server.port}/{name}"


def drop_database(pg_server: Any, name: str) -> None:
    with pg_server.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
