"""Scale-out on Celery with a real Redis broker, a real Postgres state, the GCS emulator as the shared storage
and three `flowrun worker` subprocesses, each with its own FLOWRUN_HOME (started once for the module)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import Cluster, create_database, drop_database
from gcp_emulators import GcsEmulator
from helpers import assert_clean

BUCKET = "flowrun-scaleout"
SECRET = "not-a-real-token-3f9a"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server: Any, gcs_emulator: GcsEmulator) -> Iterator[Cluster]:
    gcs_emulator.bucket(BUCKET)
    name, url = create_database(pg_server)
    storage = f"storage: gs://{BUCKET}/{uuid.uuid4().hex}\nemulators:\n  storage: {gcs_emulator.url}\n"
    cluster = Cluster(tmp_path_factory.mktemp("redis-cluster"), "redis://127.0.0.1:6379/0", url, storage)
    try:
        cluster.start_worker("w1", [cluster.queue, cluster.queue_named("a")], concurrency=2)
        cluster.start_worker("w2", [cluster.queue, cluster.queue_named("b")], concurrency=2)
        cluster.start_worker("w3", [cluster.queue], concurrency=2)
        yield cluster
    finally:
        cluster.close()
        drop_database(pg_server, name)


def run_json(cluster: Cluster, *args: str) -> dict[str, Any]:
    result = cluster.cli("run", *args, "--json")
    assert_clean(result, 0)
    return dict(json.loads(result.stdout))


def runs_by_task(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["taskId"]: run for run in execution["taskRuns"]}


def recorded_workers(cluster: Cluster, execution_id: str) -> dict[str, str | None]:
    store = cluster.store()
    try:
        return {row["task_id"]: row["worker"] for row in store.task_run_rows(execution_id)}
    finally:
        store.close()


def test_a_parallel_of_eight_shell_tasks_runs_on_several_workers(cluster: Cluster) -> None:
    cluster.flow("scaleout/parallel8.yaml")
    execution = run_json(cluster, "flows/parallel8.yaml")
    assert execution["state"] == "SUCCESS"
    workers = recorded_workers(cluster, execution["id"])
    shells = {task: worker for task, worker in workers.items() if task.startswith("s")}
    assert len(shells) == 8 and None not in shells.values()
    assert len(set(shells.values())) > 1, shells
    assert workers["fan"] is None  # the flowable stays in the orchestrating process
    assert all(run["attempts"][0]["worker"] in ("w1", "w2", "w3") for task, run in runs_by_task(execution).items()
               if task.startswith("s"))


def test_an_output_file_written_on_one_worker_is_read_on_another(cluster: Cluster) -> None:
    cluster.flow("scaleout/handoff.yaml", first=cluster.queue_named("a"), second=cluster.queue_named("b"))
    execution = run_json(cluster, "flows/handoff.yaml", "--input", f"token={SECRET}")
    assert execution["state"] == "SUCCESS", cluster.logs()
    assert recorded_workers(cluster, execution["id"]) == {"make": "w1", "use": "w2"}  # workerGroup.key -> queue
    value = runs_by_task(execution)["use"]["outputs"]["value"]
    assert value.startswith("written on ") and value.endswith(f"by the first worker / {len(SECRET)}")
    for worker in cluster.workers.values():  # the file went through the bucket, not a local disk
        assert not [p for p in (worker.home / "storage").rglob("out.txt")]
    store = cluster.store()
    try:
        stored = json.dumps([store.find_execution(execution["id"]), store.task_run_rows(execution["id"]),
                             store.log_rows(execution["id"])], default=str)
    finally:
        store.close()
    assert SECRET not in stored  # the SECRET input is sealed at rest; messages carry ids only


def test_a_detached_run_is_taken_by_a_worker(cluster: Cluster) -> None:
    cluster.flow("scaleout/hello.yaml")
    result = cluster.cli("run", "flows/hello.yaml", "--detach")
    assert_clean(result, 0)
    execution_id = result.stdout.strip()
    assert f"flowrun logs {execution_id} --follow" in result.stderr
    followed = cluster.cli("logs", execution_id, "--follow", timeout=60)  # ends with the execution
    assert_clean(followed, 0)
    store = cluster.store()
    try:
        row = store.find_execution(execution_id)
        assert row is not None and row["state"] == "SUCCESS" and row["host"] != "(enqueued)"
        assert store.task_run_rows(execution_id)[0]["worker"] in ("w1", "w2", "w3")
    finally:
        store.close()


def test_a_backfill_of_twelve_dates_runs_each_date_once_over_the_workers(cluster: Cluster) -> None:
    cluster.flow("scaleout/daily.yaml")
    result = cluster.cli("backfill", "flows/daily.yaml", "--from", "2024-01-01", "--to", "2024-01-12", "--json")
    assert_clean(result, 0)
    again = cluster.cli("backfill", "flows/daily.yaml", "--from", "2024-01-01", "--to", "2024-01-12", "--json")
    assert_clean(again, 0)
    store = cluster.store()
    try:
        rows = store.list_executions("scaleout", "daily", None, 100)
        dates = sorted(json.loads(row["trigger"])["date"] for row in rows)
        assert len(rows) == 12 and len(set(dates)) == 12, dates
        assert {row["state"] for row in rows} == {"SUCCESS"}
        workers = {store.task_run_rows(row["id"])[0]["worker"] for row in rows}
    finally:
        store.close()
    assert len(workers) > 1 and workers <= {"w1", "w2", "w3"}, workers


def test_kill_minus_9_of_a_worker_mid_task_resubmits_the_attempt_to_another(cluster: Cluster) -> None:
    queue = cluster.queue_named("k")
    first = cluster.start_worker("k1", [queue])
    cluster.flow("scaleout/slow.yaml", queue=queue)
    run = cluster.popen("run", "flows/slow.yaml", "--json")
    store = cluster.store()
    try:
        deadline = time.monotonic() + 60
        while not _running_on(store, "k1"):
            assert time.monotonic() < deadline and run.poll() is None, cluster.logs()
            time.sleep(0.1)
        first.kill9()
        cluster.start_worker("k2", [queue])
        out, err = run.communicate(timeout=120)
    finally:
        store.close()
    assert run.returncode == 0, err
    execution = json.loads(out)
    attempts = runs_by_task(execution)["long"]["attempts"]
    assert [(a["state"], a.get("worker"), a.get("lost", False)) for a in attempts] == [
        ("FAILED", "k1", True), ("SUCCESS", "k2", False)]
    assert execution["state"] == "SUCCESS"
    assert runs_by_task(execution)["after"]["outputs"]["value"] == "0"
    shown = cluster.cli("executions", "show", execution["id"])
    assert_clean(shown, 0)
    assert "2 on k1 lost, k2" in shown.stdout


def _running_on(store: Any, worker: str) -> bool:
    rows = store.list_executions("scaleout", "slow", None, 1)
    if not rows:
        return False
    for run in store.task_run_rows(rows[0]["id"]):
        claim = store.attempt_claim(run["id"], 1)
        if claim is not None and claim["worker"] == worker and claim["status"] == "running":
            return True
    return False


def test_tick_hands_its_due_date_to_a_worker(cluster: Cluster) -> None:
    cluster.flow("scaleout/daily.yaml")
    result = cluster.cli("tick", "--now", "2025-03-01T09:00:20Z", "--json")
    assert_clean(result, 0)
    runs = json.loads(result.stdout)["runs"]
    assert [(run["date"], run["state"]) for run in runs] == [("2025-03-01T09:00:00Z", "SUCCESS")], runs
    assert recorded_workers(cluster, runs[0]["executionId"])["stamp"] in ("w1", "w2", "w3")


def test_ctrl_c_of_a_backfill_withdraws_what_no_worker_took_and_the_dates_run_later(cluster: Cluster) -> None:
    cluster.flow("scaleout/daily.yaml")
    nobody = {"FLOWRUN_QUEUE": cluster.queue_named("nobody")}  # no worker takes this queue
    backfill = subprocess.Popen([sys.executable, "-m", "flowrun", "backfill", "flows/daily.yaml", "--from",
                                 "2023-06-01", "--to", "2023-06-02"], cwd=cluster.project,
                                env=cluster.process_env(cluster.home, nobody), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    store = cluster.store()
    try:
        deadline = time.monotonic() + 60
        while len(waiting := _in_june(store)) < 2:
            assert time.monotonic() < deadline and backfill.poll() is None, backfill.stderr
            time.sleep(0.1)
        backfill.send_signal(signal.SIGINT)
        backfill.communicate(timeout=30)
        assert {row["state"] for row in _in_june(store)} == {"KILLED"}
        assert all("withdrawn" in row["error"] for row in _in_june(store))
        result = cluster.cli("backfill", "flows/daily.yaml", "--from", "2023-06-01", "--to", "2023-06-02")
        assert_clean(result, 0)
        latest = {json.loads(row["trigger"])["date"]: row["state"] for row in _in_june(store)
                  if row["id"] not in {w["id"] for w in waiting}}
    finally:
        store.close()
    assert latest == {"2023-06-01T09:00:00Z": "SUCCESS", "2023-06-02T09:00:00Z": "SUCCESS"}


def _in_june(store: Any) -> list[dict[str, Any]]:
    return [row for row in store.list_executions("scaleout", "daily", None, 200)
            if json.loads(row["trigger"])["date"].startswith("2023-06")]


def test_an_attempt_stops_on_its_worker_once_its_orchestrator_died(cluster: Cluster, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.txt"
    cluster.flow("scaleout/ticker.yaml", path=ticks)
    run = cluster.popen("run", "flows/ticker.yaml")
    deadline = time.monotonic() + 60
    while not ticks.exists() or len(ticks.read_text().split()) < 3:
        assert time.monotonic() < deadline and run.poll() is None, cluster.logs()
        time.sleep(0.1)
    run.kill()  # kill -9 of the orchestrating `flowrun run`
    run.wait()
    assert_clean(cluster.cli("executions", "list"), 0)  # any command reaps it: KILLED
    time.sleep(3)  # a few heartbeats of the worker
    count = len(ticks.read_text().split())
    time.sleep(1.5)
    assert len(ticks.read_text().split()) == count < 150  # the task process on the worker is gone


def test_remote_attempts_see_the_same_context_as_local_ones(cluster: Cluster) -> None:
    cluster.flow("scaleout/context.yaml")
    remote = run_json(cluster, "flows/context.yaml", "--input", "who=ana")
    local = cluster.cli("run", "flows/context.yaml", "--input", "who=ana", "--json", env={"FLOWRUN_EXECUTOR": "local"})
    assert_clean(local, 0)

    def values(execution: dict[str, Any]) -> list[tuple[str, str | None, Any]]:
        return sorted((run["taskId"], run["value"], run["outputs"].get("value")) for run in execution["taskRuns"])

    assert values(remote) == values(json.loads(local.stdout))
    assert ("right", None, "Y IN B: B/1/HI ANA CONTEXT/FIRST SUCCESS") in values(remote)
    assert ("after", None, 'hi again {"n":2}') in values(remote)  # SetVariables/UnsetVariables, then a worker
    ran_on = {run["attempts"][0].get("worker") for run in remote["taskRuns"]
              if run["attempts"] and run["taskId"] not in ("set", "unset")}
    assert ran_on and ran_on <= {"w1", "w2", "w3"}  # every Return ran on a worker, the flowables here
    here = {run["taskId"]: run["attempts"][0].get("worker") for run in remote["taskRuns"]
            if run["taskId"] in ("set", "unset")}
    assert here == {"set": None, "unset": None}  # they change the execution where it is orchestrated


def test_a_task_message_on_the_broker_holds_ids_only(cluster: Cluster) -> None:
    import base64

    import redis

    queue = cluster.queue_named("parked")  # no worker takes it: the message stays on Redis to be read
    cluster.flow("scaleout/secret_task.yaml", queue=queue)
    run = cluster.popen("run", "flows/secret_task.yaml", "--input", f"token={SECRET}")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        deadline = time.monotonic() + 60
        while not (raw := client.lrange(queue, 0, -1)):
            assert time.monotonic() < deadline and run.poll() is None, run.stderr
            time.sleep(0.1)
    finally:
        run.kill()
        run.wait()
        client.delete(queue)
    envelope = json.loads(raw[0])
    body = json.loads(base64.b64decode(envelope["body"]))
    assert SECRET.encode() not in raw[0] and SECRET not in json.dumps(body)
    execution_id, task_run_id, attempt, revision = body[0]
    assert (len(execution_id), len(task_run_id), attempt, body[1]) == (22, 22, 1, {})
    assert isinstance(revision, int) and envelope["headers"]["task"] == "flowrun.attempt"


def test_every_log_line_of_a_chatty_task_on_a_worker_is_recorded_before_its_result(cluster: Cluster) -> None:
    """A worker holds an attempt's log lines and writes them in batches (not one transaction a line); all of
    them are in the state, in order, by the time the orchestrator has the attempt's result."""
    cluster.flow("scaleout/chatty.yaml")
    execution = run_json(cluster, "flows/chatty.yaml")
    assert execution["state"] == "SUCCESS"
    assert runs_by_task(execution)["talk"]["attempts"][0]["worker"] in {"w1", "w2", "w3"}
    store = cluster.store()
    try:
        lines = [row["message"] for row in store.log_rows(execution["id"], "talk")]
    finally:
        store.close()
    assert [line for line in lines if line.startswith("line-")] == [f"line-{i}" for i in range(1, 301)]
