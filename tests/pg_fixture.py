"""Pytest plugin: a real Postgres for the suite (the local server, else a throwaway cluster) and a database per test."""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pg_server", "pg_db"]

HOST = os.environ.get("FLOWRUN_TEST_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("FLOWRUN_TEST_PGPORT", "5432"))
USER = os.environ.get("FLOWRUN_TEST_PGUSER", "postgres")


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def connect(self, dbname: str = "postgres", autocommit: bool = True) -> Any:
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)


@dataclass(frozen=True)
class PgDatabase:
    """One test's own database."""

    server: PgServer
    name: str

    @property
    def url(self) -> str:
        """The database as a postgresql:// URL (what `state:` / FLOWRUN_STATE take)."""
        return f"postgresql://{self.server.user}@{self.server.host}:{self.server.port}/{self.name}"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.server.host}:{self.server.port}/{self.name}"

    def connect(self, autocommit: bool = True) -> Any:
        return self.server.connect(self.name, autocommit)

    def scalar(self, sql: str) -> Any:
        with self.connect() as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

    def execute(self, sql: str) -> None:
        with self.connect() as conn:
            conn.execute(sql)


def _reachable(host: str, port: int, user: str) -> bool:
    try:
        import psycopg

        psycopg.connect(f"host={host} port={port} user={user} dbname=postgres connect_timeout=3").close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"no Postgres at {HOST}:{PORT} and no `{name}` to start a throwaway cluster", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses root: run as the postgres user when we are root."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root and no `postgres` user for a throwaway cluster", pytrace=False)
    return ["runuser", "-u", "postgres", "--", *cmd]


def _start_cluster() -> tuple[PgServer, str]:
    data = tempfile.mkdtemp(prefix="flowrun-pg-")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    steps = [
        [_pg_bin("initdb"), "-D", f"{data}/db", "-A", "trust", "-U", "postgres", "--no-sync"],
        [_pg_bin("pg_ctl"), "-D", f"{data}/db", "-l", f"{data}/log", "-w", "start",
         "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"],
    ]
    for cmd in steps:
        done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"could not start a throwaway Postgres ({' '.join(cmd)}): {done.stderr.strip()}", pytrace=False)
    return PgServer("127.0.0.1", port, "postgres"), data


def _wait_ready(server: PgServer, data: str) -> None:
    deadline = time.monotonic() + 10
    while not _reachable(server.host, server.port, server.user):
        if time.monotonic() > deadline:
            pytest.fail(f"throwaway Postgres in {data} did not accept connections", pytrace=False)
        time.sleep(0.1)


def _stop_cluster(data: str) -> None:
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", f"{data}/db", "-m", "immediate", "stop"]),
                   capture_output=True)
    shutil.rmtree(data, ignore_errors=True)


@contextmanager
def _own_cluster() -> Iterator[PgServer]:
    server, data = _start_cluster()
    try:
        _wait_ready(server, data)
        yield server
    finally:
        _stop_cluster(data)


@contextmanager
def _shared_cluster(shared: Path) -> Iterator[PgServer]:
    """One throwaway cluster for all the xdist workers of a run: the first starts it, the last one out stops it.

    `shared/pg.json` (under `shared/pg.lock`) records its port, data dir and how many workers use it.
    """
    record = shared / "pg.json"

    @contextmanager
    def locked() -> Iterator[dict[str, Any]]:
        with open(shared / "pg.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(record.read_text()) if record.is_file() else {}
            yield state
            if state.get("users"):
                record.write_text(json.dumps(state))
            else:
                record.unlink(missing_ok=True)

    with locked() as state:
        if not state:
            server, data = _start_cluster()
            _wait_ready(server, data)
            state.update(port=server.port, data=data, users=0)
        state["users"] += 1
        server = PgServer("127.0.0.1", state["port"], "postgres")
    try:
        yield server
    finally:
        with locked() as state:
            state["users"] -= 1
            if not state["users"]:
                _stop_cluster(state["data"])


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[PgServer]:
    """The Postgres the tests use; fails loudly when none can be had. Safe under pytest-xdist: every worker
    shares the local server, or one throwaway cluster (workers of one run share its base temp dir)."""
    if _reachable(HOST, PORT, USER):
        yield PgServer(HOST, PORT, USER)
        return
    worker = hasattr(pytestconfig, "workerinput")
    with _shared_cluster(tmp_path_factory.getbasetemp().parent) if worker else _own_cluster() as server:
        yield server


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[PgDatabase]:
    """A fresh database for one test, dropped afterwards."""
    name = f"flowrun_test_{uuid.uuid4().hex[:12]}"
    with pg_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(pg_server, name)
    finally:
        from flowrun.state.postgres import close_stores

        close_stores(PgDatabase(pg_server, name).url)  # a store this process opened on it (the shared one)
        with pg_server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
