"""`flowrun tick`: due dates since the last tick, recovery policies, stopAfter, exactly once across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from conftest import Project
from schedule_harness import (
    cli,
    cli_command,
    covers,
    db_rows,
    env,
    executions,
    schedule_flow,
    trigger_dates,
)

from flowrun.app.tick import tick as run_tick

EVERY_5 = """  - id: every5
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/5 * * * *"
    recoverMissedSchedules: {policy}
"""


def _tick(project: Project, now: str) -> object:
    return run_tick(str(project.home), str(project.root), now)


@covers("Schedule")
@pytest.mark.both_states
def test_first_tick_records_the_trigger_and_runs_only_what_is_due(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL"))
    assert [r["date"] for r in _tick(project, "2019-01-01T00:00:00Z").runs] == ["2019-01-01T00:00:00Z"]
    assert _tick(project, "2019-01-01T00:02:00Z").runs == []
    assert _tick(project, "2019-01-01T00:12:10Z").runs[-1]["date"] == "2019-01-01T00:10:00Z"
    assert trigger_dates(project, "f") == ["2019-01-01T00:00:00Z", "2019-01-01T00:05:00Z", "2019-01-01T00:10:00Z"]
    assert _tick(project, "2019-01-01T00:12:10Z").runs == []  # the same clock again: nothing new


def test_first_tick_between_dates_runs_nothing(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL"))
    assert _tick(project, "2019-01-01T00:03:00Z").runs == []
    assert [r["date"] for r in _tick(project, "2019-01-01T00:05:20Z").runs] == ["2019-01-01T00:05:00Z"]


@pytest.mark.both_states
def test_recover_all_runs_every_missed_date(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL"))
    _tick(project, "2019-01-01T00:00:00Z")
    report = _tick(project, "2019-01-01T01:02:30Z")
    assert len(report.runs) == 12 and report.failed == 0
    assert len(trigger_dates(project, "f")) == 13


def test_recover_last_runs_only_the_latest_missed_date(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="LAST"))
    _tick(project, "2019-01-01T00:00:00Z")
    assert [r["date"] for r in _tick(project, "2019-01-01T01:02:30Z").runs] == ["2019-01-01T01:00:00Z"]


def test_recover_none_skips_missed_dates_but_runs_what_is_due_now(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="NONE"))
    _tick(project, "2019-01-01T00:00:00Z")
    assert _tick(project, "2019-01-01T01:02:30Z").runs == []
    assert [r["date"] for r in _tick(project, "2019-01-01T01:05:10Z").runs] == ["2019-01-01T01:05:00Z"]


def test_late_maximum_delay_skips_dates_that_are_too_late(project: Project) -> None:
    trigger = EVERY_5.format(policy="ALL") + "    lateMaximumDelay: PT10M\n"
    schedule_flow(project, "f", trigger)
    _tick(project, "2019-01-01T00:00:00Z")
    dates = [r["date"] for r in _tick(project, "2019-01-01T01:00:00Z").runs]
    assert dates == ["2019-01-01T00:50:00Z", "2019-01-01T00:55:00Z", "2019-01-01T01:00:00Z"]


def test_trigger_variables_inputs_and_labels_of_a_tick(project: Project) -> None:
    schedule_flow(project, "f", """  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
    timezone: America/New_York
    inputs:
      who: "{{ trigger.date | date('yyyy-MM-dd') }}"
    labels:
      source: cron
""", extra="inputs:\n  - id: who\n    type: STRING\n")
    _tick(project, "2019-01-01T14:00:00Z")
    _tick(project, "2019-01-03T15:00:00Z")
    runs = executions(project, "f")
    assert [r["trigger"]["date"] for r in runs] == ["2019-01-01T09:00:00-05:00", "2019-01-02T09:00:00-05:00",
                                                     "2019-01-03T09:00:00-05:00"]
    assert runs[1]["trigger"] == {"date": "2019-01-02T09:00:00-05:00", "next": "2019-01-03T09:00:00-05:00",
                                  "previous": "2019-01-01T09:00:00-05:00"}
    assert '"who":"2019-01-02"' in runs[1]["inputs"] and runs[1]["labels"]["source"] == "cron"


@covers("stopAfter")
@pytest.mark.both_states
def test_stop_after_disables_the_trigger(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL") + "    stopAfter: [FAILED]\n", tasks="""
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
""")
    assert [r["state"] for r in _tick(project, "2019-01-01T00:00:00Z").runs] == ["FAILED"]
    assert _tick(project, "2019-01-01T01:00:00Z").runs == []
    listed = cli(project, "schedule", "list", "--now", "2019-01-01T01:00:00Z", "--json")
    assert listed.code == 0, listed.stderr
    [entry] = listed.json()
    assert entry["enabled"] is False and "stopAfter" in entry["disabledReason"]
    assert entry["lastRun"]["state"] == "FAILED"


def test_stop_after_does_not_fire_on_other_states(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL") + "    stopAfter: [FAILED]\n")
    _tick(project, "2019-01-01T00:00:00Z")
    assert len(_tick(project, "2019-01-01T00:10:00Z").runs) == 2


def test_disabled_trigger_and_disabled_flow_are_ignored(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL") + "    disabled: true\n")
    schedule_flow(project, "g", EVERY_5.format(policy="ALL"), extra="disabled: true\n")
    assert _tick(project, "2019-01-01T00:00:00Z").runs == []


@covers("ScheduleOnDates")
def test_schedule_on_dates(project: Project) -> None:
    schedule_flow(project, "f", """  - id: dates
    type: io.kestra.plugin.core.trigger.ScheduleOnDates
    timezone: Europe/Paris
    dates:
      - 2019-01-01T10:00:00
      - 2019-01-01T12:00:00+01:00
      - 2019-01-05T10:00:00
""")
    _tick(project, "2019-01-01T08:00:00Z")
    report = _tick(project, "2019-01-02T00:00:00Z")
    assert [r["date"] for r in report.runs] == ["2019-01-01T09:00:00Z", "2019-01-01T11:00:00Z"]
    assert executions(project, "f")[0]["trigger"] == {"date": "2019-01-01T10:00:00+01:00"}


def test_dst_spring_forward_in_a_tick(project: Project) -> None:
    schedule_flow(project, "f", """  - id: night
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "30 2 * * *"
    timezone: Europe/Paris
""")
    _tick(project, "2019-03-29T12:00:00Z")
    _tick(project, "2019-04-01T12:00:00Z")
    assert trigger_dates(project, "f") == ["2019-03-30T02:30:00+01:00", "2019-03-31T03:30:00+02:00",
                                           "2019-04-01T02:30:00+02:00"]


def test_a_dead_tick_leaves_its_claim_to_be_taken_over(project: Project) -> None:
    schedule_flow(project, "f", EVERY_5.format(policy="ALL"))
    _tick(project, "2019-01-01T00:00:00Z")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import sqlite3

    conn = sqlite3.connect(project.home / "state.db")
    with conn:
        conn.execute("INSERT INTO schedule_claims (namespace, flow_id, trigger_id, date, status, source, flow_path, "
                     "execution_id, claimed_pid, claimed_host, claimed_at) VALUES ('sched', 'f', 'every5', "
                     "'2019-01-01T00:05:00Z', 'running', 'tick', ?, 'never-written', ?, ?, 0)",
                     (str(project.root / "flows" / "f.yaml"), dead.pid, __import__("socket").gethostname()))
    conn.close()
    report = _tick(project, "2019-01-01T00:06:00Z")
    assert [r["date"] for r in report.runs] == ["2019-01-01T00:05:00Z"]
    assert trigger_dates(project, "f") == ["2019-01-01T00:00:00Z", "2019-01-01T00:05:00Z"]


@pytest.mark.slow
@pytest.mark.both_states
def test_twenty_ticks_at_once_run_each_date_exactly_once(project: Project) -> None:
    for name in ("a", "b", "c"):
        schedule_flow(project, name, EVERY_5.format(policy="ALL"))
    first = cli(project, "tick", "--now", "2019-01-01T00:00:00Z")
    assert first.code == 0, first.stderr
    procs = [subprocess.Popen(cli_command(project, "tick", "--now", "2019-01-02T00:00:00Z"), cwd=project.root,
                              env=env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(20)]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in out + err
    for name in ("a", "b", "c"):
        dates = Counter(trigger_dates(project, name))
        assert len(dates) == 289 and set(dates.values()) == {1}, name
        assert min(dates) == "2019-01-01T00:00:00Z" and max(dates) == "2019-01-02T00:00:00Z"
    assert {r["state"] for r in db_rows(project, "SELECT state FROM executions")} == {"SUCCESS"}
    assert {r["status"] for r in db_rows(project, "SELECT status FROM schedule_claims")} == {"done"}
    ran_by = Counter(line.split()[1] for out, _ in outputs for line in out.splitlines())
    assert sum(ran_by.values()) == 3 * 288


STEPPER = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta
    from flowrun.app.tick import tick as run_tick

    home, root = sys.argv[1], sys.argv[2]
    start = datetime.fromisoformat("2019-01-01T00:00:00+00:00")
    for hour in range(1, 13):
        report = run_tick(home, root, (start + timedelta(hours=hour)).isoformat())
        assert not report.problems, report.problems
        for run in report.runs:
            print(run["flow"], run["date"], run["state"])
""")


def test_two_overlapping_processes_stepping_hour_by_hour(project: Project) -> None:
    for name in ("a", "b"):
        schedule_flow(project, name, EVERY_5.format(policy="ALL"))
    _tick(project, "2019-01-01T00:00:00Z")
    procs = [subprocess.Popen([sys.executable, "-c", STEPPER, str(project.home), str(project.root)],
                              cwd=project.root, env=env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in out + err
    lines = [line for out, _ in outputs for line in out.splitlines()]
    assert len(lines) == 2 * 144 and len(set(lines)) == 2 * 144
    for name in ("a", "b"):
        dates = Counter(trigger_dates(project, name))
        assert len(dates) == 145 and set(dates.values()) == {1}
