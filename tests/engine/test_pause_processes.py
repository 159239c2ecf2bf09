"""Pause across processes: run in one CLI process, then `tick` or `resume` in another, as a cron box does."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from conftest import CliResult, Project
from helpers import assert_clean, assert_clean_error
from schedule_harness import db_rows


def later(**delta: float) -> str:
    """A `--now` that far from the real clock (the pauses start at the real time)."""
    return (datetime.now(UTC) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def show(project: Project, execution_id: str) -> dict:
    """The execution document `flowrun executions show --json` prints (read in this process: faster)."""
    from flowrun.app.inspect import show_execution

    return show_execution(str(project.home), execution_id)


def tick_here(project: Project, now: str) -> object:
    from flowrun.app.tick import tick

    return tick(str(project.home), str(project.root), now)


def test_a_paused_run_is_resumed_by_tick_in_another_process(project: Project) -> None:
    path = project.flow_file("pause/long.yaml", behavior="WARN")
    first = project.cli("run", str(path), "--json")
    assert_clean(first, 5)
    assert "flowrun resume" in first.stderr
    execution_id = first.json()["id"]
    assert tick_here(project, later(minutes=30)).resumed == []  # type: ignore[attr-defined]
    assert show(project, execution_id)["state"] == "PAUSED"
    ticked = project.cli("tick", "--now", later(hours=2))
    assert_clean(ticked, 0)
    assert f"tests.pause/pause_long resumed {execution_id} WARNING" in ticked.stdout
    doc = show(project, execution_id)
    assert doc["state"] == "WARNING" and [tr["taskId"] for tr in doc["taskRuns"]] == ["pause", "last"]
    pause = doc["taskRuns"][0]
    assert [h["state"] for h in pause["histories"]] == ["CREATED", "RUNNING", "PAUSED", "WARNING"]
    assert pause["outputs"]["resumed"]["to"] == "WARNING" and doc["taskRuns"][1]["outputs"]["value"] == "WARNING"


def test_pauses_in_parallel_branches_resume_one_by_one(project: Project) -> None:
    first = project.cli("run", str(project.flow_file("pause/parallel.yaml")), "--json")
    assert_clean(first, 5)
    doc = first.json()
    assert {tr["taskId"]: tr["state"] for tr in doc["taskRuns"]}["free"] == "SUCCESS"
    tick_here(project, later(minutes=90))  # past the PT1H pause, before the PT2H one
    mid = show(project, doc["id"])
    states = {tr["taskId"]: tr["state"] for tr in mid["taskRuns"]}
    assert mid["state"] == "PAUSED" and states["wait_short"] == "SUCCESS" and states["after_short"] == "SUCCESS"
    assert states["wait_long"] == "PAUSED" and "after_long" not in states and "last" not in states
    tick_here(project, later(hours=3))
    final = show(project, doc["id"])
    assert final["state"] == "SUCCESS"
    by_id = {tr["taskId"]: tr for tr in final["taskRuns"]}
    assert by_id["last"]["outputs"]["value"] == "long done short done"
    ids = [tr["taskId"] for tr in final["taskRuns"]]
    assert sorted(ids) == sorted(set(ids)), f"a task ran twice: {ids}"
    assert len(ids) == 9


def test_resume_checks_the_on_resume_inputs(project: Project) -> None:
    first = project.cli("run", str(project.flow_file("pause/on-resume.yaml")), "--json")
    assert_clean(first, 5)
    execution_id = first.json()["id"]
    missing = project.cli("resume", execution_id)
    assert_clean_error(missing, 3, "asked")
    assert show(project, execution_id)["state"] == "PAUSED"
    resumed = project.cli("resume", execution_id, "--input", "asked=yes", "--json")
    assert_clean(resumed, 0)
    doc = resumed.json()
    last = next(tr for tr in doc["taskRuns"] if tr["taskId"] == "last")
    assert last["outputs"]["values"] == {"asked": "yes", "count": 4}
    pause = next(tr for tr in doc["taskRuns"] if tr["taskId"] == "pause")
    assert pause["outputs"]["onResume"] == {"asked": "yes", "count": 3}


def test_resume_refuses_an_execution_whose_pause_waits_in_a_live_process(project: Project) -> None:
    path = project.flow("""
        id: waiting
        namespace: tests.pause
        tasks:
          - id: pause
            type: io.kestra.plugin.core.flow.Pause
            pauseDuration: PT30S
        """, "waiting.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", str(path)], cwd=project.root,
                            env={**_env(project)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        execution_id = _wait_paused(project)
        refused = project.cli("resume", execution_id)
        assert_clean_error(refused, 2, "is still run by flowrun process", "its pause waits there")
        assert project.cli("tick", "--now", later(hours=1)).code == 0
        assert db_rows(project, "SELECT state FROM executions")[0]["state"] == "PAUSED"  # tick left it alone
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert db_rows(project, "SELECT state FROM executions")[0]["state"] == "KILLED"


def test_concurrent_ticks_resume_a_pause_once(project: Project) -> None:
    first = project.cli("run", str(project.flow_file("pause/long.yaml", behavior="RESUME")), "--json")
    execution_id = first.json()["id"]
    now = later(hours=2)
    results: list[CliResult] = []
    threads = [threading.Thread(target=lambda: results.append(project.cli("tick", "--now", now)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result.stdout.count("resumed") for result in results) == 1, [r.stdout for r in results]
    doc = show(project, execution_id)
    assert doc["state"] == "SUCCESS" and [tr["taskId"] for tr in doc["taskRuns"]] == ["pause", "last"]


def _env(project: Project) -> dict[str, str]:
    import os

    return {**os.environ, "FLOWRUN_HOME": str(project.home)}


def _wait_paused(project: Project) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            rows = db_rows(project, "SELECT id, state FROM executions")
        except sqlite3.OperationalError:  # the state DB is not created yet
            rows = []
        if rows and rows[0]["state"] == "PAUSED":
            return str(rows[0]["id"])
        time.sleep(0.05)
    raise AssertionError("the execution never went PAUSED")
