"""`flowrun backfill`: the reprocess table, dry run, labels, parallel runs, Ctrl-C and resume, manual runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest
from conftest import Project
from schedule_harness import (
    cli,
    cli_command,
    covers,
    db_rows,
    env,
    executions,
    in_project,
    schedule_flow,
    trigger_dates,
)

from flowrun.app.backfill import BackfillRequest
from flowrun.app.backfill import backfill as run_backfill
from flowrun.app.run import RunOptions, run_flow
from flowrun.app.services import open_state
from flowrun.app.tick import tick as run_tick
from flowrun.project import open_project
from flowrun.schedule.manual import trigger_for_manual_run

DAILY = """  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
"""
#: the latest execution of each date of the reprocess table, and the expected action per --reprocess mode
TABLE = [
    (None, "run", "run", "run"),
    ("FAILED", "skip", "run", "run"),
    ("KILLED", "skip", "run", "run"),
    ("CANCELLED", "skip", "run", "run"),
    ("SUCCESS", "skip", "skip", "run"),
    ("WARNING", "skip", "skip", "run"),
    ("CREATED", "skip", "skip", "skip"),
    ("QUEUED", "skip", "skip", "skip"),
    ("RUNNING", "skip", "skip", "skip"),
    ("PAUSED", "skip", "skip", "skip"),
]


def _backfill(project: Project, start: str, end: str, **options: object) -> object:
    with in_project(project):
        return run_backfill(BackfillRequest("flows/f.yaml", start, end, home=str(project.home), **options))


def _seed_latest(project: Project, day: int, state: str) -> None:
    """Make an execution in `state` the latest execution of 2019-01-<day> 09:00 (a live pid keeps it active)."""
    date = f"2019-01-{day:02d}T09:00:00Z"
    conn = sqlite3.connect(project.home / "state.db")
    with conn:
        conn.execute("INSERT INTO executions (id, namespace, flow_id, state, created_at, trigger, pid, host, "
                     "heartbeat) VALUES (?, 'sched', 'f', ?, ?, ?, ?, ?, ?)",
                     (f"seed{day}", state, date, json.dumps({"date": date}), os.getpid(), socket.gethostname(),
                      time.time()))
        conn.execute("INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, "
                     "execution_id) VALUES ('sched', 'f', 'daily', ?, 'done', 'manual', ?)", (date, f"seed{day}"))
    conn.close()


@pytest.mark.parametrize("mode", ["missing", "failed", "all"])
def test_every_row_of_the_reprocess_table(project: Project, mode: str) -> None:
    schedule_flow(project, "f", DAILY)
    open_state(open_project(str(project.home), project.root))
    for day, (state, *_) in enumerate(TABLE, start=1):
        if state:
            _seed_latest(project, day, state)
    column = ["missing", "failed", "all"].index(mode) + 1
    plan = _backfill(project, "2019-01-01", "2019-01-10", reprocess=mode, dry_run=True)
    assert [p.latest_state for p in plan.plans] == [row[0] for row in TABLE]
    assert [p.action for p in plan.plans] == [row[column] for row in TABLE]
    assert all("execution is" in p.note for p in plan.plans[6:])  # active: skipped with a note
    result = _backfill(project, "2019-01-01", "2019-01-10", reprocess=mode)
    ran = sorted(p.date_text for p in result.plans if p.state)
    assert ran == sorted(f"2019-01-{i:02d}T09:00:00Z" for i, row in enumerate(TABLE, 1) if row[column] == "run")
    assert all(p.state == "SUCCESS" for p in result.plans if p.state)


@covers("Schedule")
@pytest.mark.both_states
def test_backfill_runs_each_date_once_then_nothing_then_all_again(project: Project) -> None:
    schedule_flow(project, "f", DAILY)
    first = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-05")
    assert first.code == 0, first.stderr
    assert "done 5/5" in first.stdout and "ETA" in first.stdout
    assert trigger_dates(project, "f") == [f"2019-01-0{i}T09:00:00Z" for i in range(1, 6)]
    again = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-05", "--json")
    assert again.code == 0 and [d["action"] for d in again.json()["dates"]] == ["skip"] * 5
    assert len(executions(project, "f")) == 5
    everything = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-05",
                     "--reprocess", "all", "--json")
    assert everything.code == 0 and [d["state"] for d in everything.json()["dates"]] == ["SUCCESS"] * 5
    assert len(executions(project, "f")) == 10
    listed = cli(project, "backfill", "list", "--json").json()
    assert [(b["succeeded"], b["skipped"], b["state"]) for b in listed] == [(5, 0, "SUCCESS"), (0, 5, "SUCCESS"),
                                                                         (5, 0, "SUCCESS")]


def test_labels_inputs_and_trigger_variables(project: Project) -> None:
    schedule_flow(project, "f", DAILY + "    inputs:\n      who: trigger\n    labels:\n      team: data\n",
                  extra="inputs:\n  - id: who\n    type: STRING\n")
    result = _backfill(project, "2019-01-01T09:00:00Z", "2019-01-02T09:00:00Z", labels={"run": "x"})
    [first, second] = executions(project, "f")
    assert first["labels"]["backfill"] == "true" and first["labels"]["backfillId"] == result.id
    assert first["labels"]["team"] == "data" and first["labels"]["run"] == "x"
    assert json.loads(first["inputs"]) == {"who": "trigger"}
    assert second["trigger"] == {"date": "2019-01-02T09:00:00Z", "next": "2019-01-03T09:00:00Z",
                                 "previous": "2019-01-01T09:00:00Z"}
    _backfill(project, "2019-01-03", "2019-01-03", inputs={"who": "cli"})
    assert json.loads(executions(project, "f")[-1]["inputs"]) == {"who": "cli"}


def test_dry_run_prints_the_table_and_creates_nothing(project: Project) -> None:
    schedule_flow(project, "f", DAILY)
    result = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-03", "--dry-run")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DATE", "TRIGGER", "LATEST", "ACTION", "NOTE"]
    assert [line.split()[3] for line in lines[1:]] == ["run"] * 3
    assert executions(project) == [] and db_rows(project, "SELECT * FROM backfills") == []


def test_window_in_the_trigger_time_zone_across_dst(project: Project) -> None:
    schedule_flow(project, "f", """  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    timezone: Europe/Paris
""")
    plan = _backfill(project, "2019-03-31", "2019-03-31", dry_run=True)
    assert len(plan.plans) == 23
    assert plan.plans[0].date_text == "2019-03-31T00:00:00+01:00"
    assert plan.plans[2].date_text == "2019-03-31T03:00:00+02:00"
    autumn = _backfill(project, "2019-10-27", "2019-10-27", dry_run=True)
    assert len(autumn.plans) == 25


@pytest.mark.both_states
def test_parallel_backfill_overlaps_dates(project: Project) -> None:
    schedule_flow(project, "f", DAILY, tasks="""
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1S
""")
    started = time.monotonic()
    result = _backfill(project, "2019-01-01", "2019-01-04", parallel=4)
    assert time.monotonic() - started < 3.5
    assert [p.state for p in result.plans] == ["SUCCESS"] * 4
    assert len(set(trigger_dates(project, "f"))) == 4


def test_a_running_backfill_beats_its_heartbeat(project: Project) -> None:
    """Other hosts sharing the state judge a backfill by its heartbeat (tests/state: the stale one is resumed)."""
    from flowrun.state.liveness import HEARTBEAT_SECONDS

    schedule_flow(project, "f", DAILY, tasks="""
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT6S
""")
    before = time.time()
    result = _backfill(project, "2019-01-01", "2019-01-01")
    assert [p.state for p in result.plans] == ["SUCCESS"]
    [row] = open_state(open_project(str(project.home))).backfill_rows(1)
    assert row["heartbeat"] >= before + HEARTBEAT_SECONDS - 0.5, (row["heartbeat"] - before)


def test_exit_code_is_non_zero_when_a_date_failed(project: Project) -> None:
    schedule_flow(project, "f", DAILY, tasks="""
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
""")
    result = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-02")
    assert result.code == 1
    assert "2 failed" in result.stdout
    assert cli(project, "backfill", "list", "--json").json()[0]["state"] == "FAILED"
    retry = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-02",
                "--reprocess", "failed", "--dry-run", "--json")
    assert [(d["latestState"], d["action"]) for d in retry.json()["dates"]] == [("FAILED", "run")] * 2


def _succeeded_yet(project: Project) -> bool:
    try:
        return bool(db_rows(project, "SELECT id FROM executions WHERE state = 'SUCCESS'"))
    except sqlite3.OperationalError:  # the backfill is still creating the state DB's tables
        return False


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_a_rerun_continues(project: Project) -> None:
    schedule_flow(project, "f", DAILY, tasks="""
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1S
""")
    args = ("backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-05")
    proc = subprocess.Popen(cli_command(project, *args), cwd=project.root, env=env(project),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (project.home / "state.db").exists() and _succeeded_yet(project):
            break
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "interrupted" in out
    states = [e["state"] for e in executions(project, "f")]
    assert "KILLED" in states and "RUNNING" not in states
    done_first = states.count("SUCCESS")
    again = cli(project, *args)
    assert again.code == 0, again.stderr
    assert again.stdout.startswith("resuming")
    assert sorted(set(trigger_dates(project, "f"))) == [f"2019-01-0{i}T09:00:00Z" for i in range(1, 6)]
    assert [e["state"] for e in executions(project, "f")].count("SUCCESS") == 5
    assert len(executions(project, "f")) == 5 + states.count("KILLED") and done_first >= 1
    [entry] = cli(project, "backfill", "list", "--json").json()
    assert (entry["state"], entry["succeeded"]) == ("SUCCESS", 5)


@pytest.mark.both_states
def test_manual_run_of_a_date_counts_for_backfill_and_tick(project: Project) -> None:
    path = schedule_flow(project, "f", DAILY + "    inputs:\n      who: sched\n    labels:\n      team: data\n",
                         extra="inputs:\n  - id: who\n    type: STRING\n    defaults: manual\n")
    variables, labels, inputs, warning = trigger_for_manual_run(str(path), "daily", "2019-01-02T09:00:00")
    assert warning is None and labels == {"team": "data"} and inputs == {"who": "sched"}
    assert variables == {"date": "2019-01-02T09:00:00Z", "next": "2019-01-03T09:00:00Z",
                         "previous": "2019-01-01T09:00:00Z"}
    with in_project(project):  # what `flowrun run FLOW --trigger daily --date ...` does
        execution = run_flow(str(path), RunOptions(home=str(project.home)), "daily", "2019-01-02T09:00:00")
    assert execution.inputs["who"] == "sched" and execution.labels_map()["team"] == "data"
    assert execution.trigger == variables
    plan = _backfill(project, "2019-01-01", "2019-01-03", dry_run=True)
    assert [(p.latest_state, p.action) for p in plan.plans] == [(None, "run"), ("SUCCESS", "skip"), (None, "run")]
    run_tick(str(project.home), str(project.root), "2019-01-02T08:00:00Z")
    assert run_tick(str(project.home), str(project.root), "2019-01-02T10:00:00Z").runs == []


def test_manual_run_warnings_and_no_date(project: Project) -> None:
    path = schedule_flow(project, "f", DAILY)
    *_, warning = trigger_for_manual_run(str(path), "daily", "2019-01-02T10:00:00")
    assert warning and "not a date of trigger `daily`" in warning and "next 2019-01-03T09:00:00Z" in warning
    variables, *_ = trigger_for_manual_run(str(path), "daily", None)
    assert variables is None
    with pytest.raises(Exception, match="no trigger `nope`"):
        trigger_for_manual_run(str(path), "nope", None)


def test_backfill_usage_errors(project: Project) -> None:
    schedule_flow(project, "f", DAILY)
    assert cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01").code == 2
    bad = cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-01", "--to", "2019-01-02", "--trigger", "x")
    assert bad.code == 2 and "no schedule trigger `x`" in bad.stderr
    assert cli(project, "backfill", "flows/f.yaml", "--from", "2019-01-05", "--to", "2019-01-01").code == 2


def test_flow_concurrency_limit_still_applies(project: Project) -> None:
    schedule_flow(project, "f", DAILY, extra="concurrency:\n  limit: 1\n", tasks="""
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.5S
""")
    result = _backfill(project, "2019-01-01", "2019-01-03", parallel=3)
    assert [p.state for p in result.plans] == ["SUCCESS"] * 3
    runs = executions(project, "f")
    histories = [json.loads(e["histories"]) for e in runs]
    assert any(h["state"] == "QUEUED" for history in histories for h in history)
    spans = sorted((next(h["date"] for h in history if h["state"] == "RUNNING"), run["end_date"])
                   for history, run in zip(histories, runs, strict=True))
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(2)), spans  # one at a time
