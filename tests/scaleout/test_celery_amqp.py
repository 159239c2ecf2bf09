"""Scale-out on Celery with a real RabbitMQ broker (amqp://guest:guest@127.0.0.1:5672): two workers share a
Parallel fan-out, and the zoomcamp `04_postgres_taxi` flow runs unchanged on them (its data stand-ins as in
tests/compat: a local HTTP server, the Postgres connection forced by pluginDefaults)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import taxi_data
from cluster import Cluster, create_database, drop_database
from conftest import ZOOMCAMP
from gcp_emulators import GcsEmulator
from helpers import assert_clean
from httpserver import LocalHTTPServer

BUCKET = "flowrun-scaleout"
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
N_ROWS = 200
PASSWORD = "zoomcamp-pw-on-the-workers-only"


@pytest.fixture(scope="module")
def taxi_server() -> Iterator[LocalHTTPServer]:
    routes = {}
    for month in (1, 2):
        body = "\n".join([",".join(taxi_data.columns("green")), *taxi_data.rows("green", 2019, month, N_ROWS)]) + "\n"
        path = "/DataTalksClub/nyc-tlc-data/releases/download" + taxi_data.url_path("green", 2019, month)
        routes[path] = gzip.compress(body.encode(), compresslevel=1)
    with LocalHTTPServer(routes) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server: Any, gcs_emulator: GcsEmulator) -> Iterator[Cluster]:
    gcs_emulator.bucket(BUCKET)
    state, state_url = create_database(pg_server)
    taxi, _ = create_database(pg_server)
    config = (f"storage: gs://{BUCKET}/{uuid.uuid4().hex}\nemulators:\n  storage: {gcs_emulator.url}\n"
              "pluginDefaults:\n  - type: io.kestra.plugin.jdbc.postgresql\n    forced: true\n    values:\n"
              f"      url: jdbc:postgresql://{pg_server.host}:{pg_server.port}/{taxi}\n"
              f"      username: {pg_server.user}\n      password: \"{{{{ secret('PG_PASSWORD') }}}}\"\n")
    cluster = Cluster(tmp_path_factory.mktemp("amqp-cluster"), BROKER, state_url, config)
    cluster.taxi_db = taxi  # type: ignore[attr-defined]
    secret = {"SECRET_PG_PASSWORD": base64.b64encode(PASSWORD.encode()).decode()}
    try:
        cluster.start_worker("r1", concurrency=2, env=secret)
        cluster.start_worker("r2", concurrency=2, env=secret)
        yield cluster
    finally:
        cluster.close()
        _delete_queue(cluster.queue)
        drop_database(pg_server, state)
        drop_database(pg_server, taxi)


def _delete_queue(name: str) -> None:
    from kombu import Connection

    with Connection(BROKER) as connection:
        connection.default_channel.queue_delete(name)


def test_a_parallel_of_eight_shell_tasks_spreads_over_rabbitmq_workers(cluster: Cluster) -> None:
    cluster.flow("scaleout/parallel8.yaml")
    result = cluster.cli("run", "flows/parallel8.yaml", "--json")
    assert_clean(result, 0)
    execution = json.loads(result.stdout)
    assert execution["state"] == "SUCCESS"
    workers = {run["taskId"]: run["attempts"][0].get("worker") for run in execution["taskRuns"]
               if run["taskId"].startswith("s")}
    assert set(workers.values()) == {"r1", "r2"}, workers


def test_the_zoomcamp_postgres_taxi_flow_runs_unchanged_on_the_workers(cluster: Cluster, pg_server: Any,
                                                                      taxi_server: LocalHTTPServer) -> None:
    text = (ZOOMCAMP / "current" / "04_postgres_taxi.yaml").read_text().replace("https://github.com/",
                                                                                taxi_server.base + "/")
    flow = cluster.project / "flows" / "04_postgres_taxi.yaml"
    flow.write_text(text)  # only the download host differs (compat/README.md's stand-in)
    for month in ("01", "02"):
        result = cluster.cli("run", str(flow), "--input", "taxi=green", "--input", "year=2019", "--input",
                             f"month={month}", "--json")
        assert_clean(result, 0)
        execution = json.loads(result.stdout)
        assert execution["state"] == "SUCCESS"
        copy = next(run for run in execution["taskRuns"] if run["taskId"] == "green_copy_in_to_staging_table")
        assert copy["outputs"] == {"rowCount": N_ROWS}
        ran_on = {run["attempts"][0].get("worker") for run in execution["taskRuns"] if run["attempts"]}
        assert ran_on - {None} <= {"r1", "r2"} and ran_on - {None}
    with pg_server.connect(cluster.taxi_db) as conn:  # type: ignore[attr-defined]
        count, files = conn.execute("SELECT count(*), count(DISTINCT filename) FROM public.green_tripdata").fetchone()
    assert (count, files) == (2 * N_ROWS, 2)
    for path in Path(cluster.root).rglob("*"):  # the orchestrator never had the password; the workers kept it
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_worker_on_rabbitmq_stops_promptly_on_sigterm(cluster: Cluster) -> None:
    """Celery's loop sees a warm shutdown only between polls, and on RabbitMQ nothing bounded a poll: a worker
    took 5-10 s to stop (10 s under the suite's load). flowrun's PromptStop step wakes the loop every 0.5 s."""
    import time

    worker = cluster.start_worker("r3")
    try:
        started = time.monotonic()
        worker.terminate()
        worker.wait_stopped()
        took = time.monotonic() - started
    finally:
        cluster.workers.pop("r3", None)
    assert worker.proc.returncode == 0, worker.tail()
    assert took < 5.0, f"the worker took {took:.1f} s to stop:\n{worker.tail()}"
    assert "Warm shutdown" in worker.tail()
