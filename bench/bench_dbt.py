"""Benchmark of the dbt task: the second run of zoomcamp 03_postgres_dbt against the same dbt build in an existing venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import interleave, workdir

PGHOST = os.environ.get("FLOWRUN_BENCH_PGHOST", "127.0.0.1")
PGPORT = os.environ.get("FLOWRUN_BENCH_PGPORT", "5432")
PGUSER = os.environ.get("FLOWRUN_BENCH_PGUSER", "postgres")
FLOW = Path(__file__).resolve().parents[2] / "shared" / "compat" / "zoomcamp" / "cohort-2025" / "03_postgres_dbt.yaml"
TAXI_DDL = FLOW.with_name("02_postgres_taxi.yaml")
PROJECT = "04-analytics-engineering/taxi_rides_ny"


def _tests_module(name: str) -> Any:
    """A helper module of tests/ (the synthetic taxi rows, the course repository) without a package."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def _psql(db: str, *args: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PGHOST, "-p", PGPORT, "-U", PGUSER, "-d", db,
                    *args], check=True, capture_output=True)


@contextmanager
def _database(rows: int) -> Iterator[str]:
    """A database holding yellow_tripdata and green_tripdata as 02_postgres_taxi.yaml creates them, one month each."""
    import re

    name = f"flowrun_bench_dbt_{uuid.uuid4().hex[:8]}"
    _psql("postgres", "-c", f"CREATE DATABASE {name}")
    try:
        ddl = re.findall(r"CREATE TABLE IF NOT EXISTS \{\{render\(vars.table\)\}\} \(.*?\);", TAXI_DDL.read_text(), re.S)
        taxi_data = _tests_module("taxi_data")
        for taxi, statement in zip(("yellow", "green"), ddl, strict=True):
            _psql(name, "-c", statement.replace("{{render(vars.table)}}", f"public.{taxi}_tripdata"))
            with tempfile.NamedTemporaryFile(suffix=".csv") as csv:
                taxi_data.write_csv(Path(csv.name), taxi, 2019, 1, rows)
                columns = ",".join(taxi_data.columns(taxi))
                _psql(name, "-c", f"\\copy public.{taxi}_tripdata ({columns}) FROM '{csv.name}' CSV HEADER")
        yield name
    finally:
        _psql("postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _profile(db: str) -> str:
    return (f"default:\n  outputs:\n    dev:\n      type: postgres\n      host: {PGHOST}\n      user: {PGUSER}\n"
            f"      password: bench\n      port: {PGPORT}\n      dbname: {db}\n      schema: public\n"
            "      threads: 8\n  target: dev\n")


def _project(work: Path, db: str) -> tuple[Path, Path]:
    """The flow (its url rewritten to a local copy of the course repository) and the repository."""
    repo = _tests_module("dbt_harness").course_repo(work / "repo")
    profile = "".join(f"        {line}\n" for line in _profile(db).splitlines())
    (work / "flowrun.yaml").write_text(
        "pluginDefaults:\n  - type: io.kestra.plugin.dbt.cli.DbtCLI\n    forced: true\n    values:\n"
        f"      env:\n        DBT_DATABASE: {db}\n      profiles: |\n{profile}")
    flow = work / "flows" / FLOW.name
    flow.parent.mkdir(parents=True)
    flow.write_text(FLOW.read_text().replace("https://github.com/DataTalksClub/data-engineering-zoomcamp",
                                             repo.as_uri()))
    return flow, repo


def _flowrun(work: Path, flow: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flowrun", "run", str(flow), "--json"], cwd=work,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:  # WARNING (dbt's deprecation warnings) exits 0 too
        raise RuntimeError(f"03_postgres_dbt failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return seconds


def _dbt(work: Path, repo: Path, dbt: Path, db: str) -> float:
    """`dbt deps` and `dbt build` in a fresh copy of the project, with the venv already there."""
    target = Path(tempfile.mkdtemp(prefix="dbt-", dir=work))
    try:
        start = time.perf_counter()
        shutil.copytree(repo / PROJECT, target, dirs_exist_ok=True)
        (target / "profiles.yml").write_text(_profile(db))
        env = {**os.environ, "DBT_DATABASE": db, "DBT_SCHEMA": "public", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        for command in ("deps", "build"):
            subprocess.run([str(dbt), command], cwd=target, env=env, check=True, capture_output=True)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(target, ignore_errors=True)


def bench_second_run(tiny: bool = False) -> dict[str, Any]:
    work = workdir("bench-dbt-")
    try:
        with _database(300 if tiny else 3000) as db:
            flow, repo = _project(work, db)
            if tiny:  # the test suite's shared dbt venv stands in for the untimed build (tests/dbt_harness.py)
                _tests_module("dbt_harness").link_dbt_venv(work / ".flowrun")
            first = _flowrun(work, flow)  # the first run builds the venv (from uv's cache after the first time)
            dbt = next((work / ".flowrun" / "venvs").glob("*/bin/dbt"))
            if tiny:  # `make test` only checks that the figure is produced: the first run stands in for the second
                result = interleave(1, lambda: first, lambda: _dbt(work, repo, dbt, db))
            else:
                result = interleave(5, lambda: _flowrun(work, flow), lambda: _dbt(work, repo, dbt, db))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": "zoomcamp 03_postgres_dbt, second run (git sync, dbt deps, dbt build)",
            "command": "flowrun run flows/03_postgres_dbt.yaml (url: a local git repository; profile forced to the "
                       "bench database)",
            "timed": "the whole `flowrun run` process",
            "baseline": "copy the project, then `dbt deps` and `dbt build` with the same venv's dbt",
            "goal": "<= 1.2x", "goal_ratio": 1.2, **result}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    return [bench_second_run(tiny)]
