"""`flowrun purge`: the cutoff forms, --dry-run, filters, --keep-last, confirmation, and unfinished executions."""

from __future__ import annotations

import os
import pty
import select
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Project
from purge_harness import (
    add_file,
    age,
    days_ago,
    execution_ids,
    log_count,
    run,
    small_flow,
    stamp,
    states_by_id,
)

from flowrun.app.purge import purge, purge_selection
from flowrun.errors import ExitCode, UsageError
from flowrun.state.cutoff import parse_cutoff
from flowrun.state.records import ExecutionFilter


def aged_runs(project: Project, ages: dict[str, datetime], flow_id: str = "daily", namespace: str = "co") -> dict:
    """One real execution per name, each ended at the given moment."""
    path = small_flow(project, flow_id, namespace)
    made = {}
    for name, ended in ages.items():
        execution = run(project, path)
        age(project, execution.id, ended)
        made[name] = execution.id
    return made


def listed_ids(stdout: str) -> set[str]:
    return {line.split()[0] for line in stdout.splitlines() if line.startswith("  ") and "/" in line}


# -- the cutoff -----------------------------------------------------------------------------------------------
def test_before_yesterday_exits_2_and_deletes_nothing(project: Project) -> None:
    made = aged_runs(project, {"old": days_ago(40), "new": days_ago(1)})
    for extra in ([], ["--yes"]):
        result = project.cli("purge", "--before", "yesterday", *extra)
        assert result.code == ExitCode.USAGE, result.stdout + result.stderr
        assert "--before: `yesterday` is not an ISO date, date-time or duration" in result.stderr
        for form in ("2026-01-31", "2026-01-31T12:00:00", "P30D", "PT12H"):
            assert form in result.stderr, result.stderr
        assert "nothing was deleted" in result.stderr
        assert "Traceback" not in result.stderr and "purged" not in result.stdout
    assert execution_ids(project) == set(made.values())


@pytest.mark.parametrize("text", ["yesterday", "P1M", "-P1D", "2026-13-01", "12/31/2025", "P", ""])
def test_bad_cutoffs_are_usage_errors(text: str) -> None:
    from flowrun.cli.purge import build_filter

    with pytest.raises(UsageError) as caught:
        build_filter(text, None, None, None, 0)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "P30D" in (caught.value.hint or "")


def test_cutoff_forms_are_parsed() -> None:
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert parse_cutoff("P30D", now) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_cutoff("PT12H", now) == datetime(2026, 3, 31, 0, 0, tzinfo=UTC)
    assert parse_cutoff("2026-01-31T12:00:00Z") == datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert parse_cutoff("2026-01-31T12:00:00+02:00") == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert parse_cutoff("2026-01-31T12:00:00+01:00[Europe/Paris]") == datetime(2026, 1, 31, 11, 0, tzinfo=UTC)
    local = datetime(2026, 1, 31).astimezone().astimezone(UTC)
    assert parse_cutoff("2026-01-31") == local  # a bare date is its local midnight


def test_before_duration_date_and_datetime(project: Project) -> None:
    made = aged_runs(project, {
        "y2019": datetime(2019, 6, 1, tzinfo=UTC),
        "at11": datetime(2021, 1, 1, 11, 0, tzinfo=UTC),
        "at13": datetime(2021, 1, 1, 13, 0, tzinfo=UTC),
        "d40": days_ago(40),
        "d1": days_ago(1),
    })
    files = {name: add_file(project, "co", "daily", execution_id) for name, execution_id in made.items()}

    by_date = project.cli("purge", "--before", "2020-01-01", "--yes")
    assert by_date.code == 0, by_date.stderr
    assert "purged 1 execution(s) and 1 file(s)" in by_date.stdout
    assert made["y2019"] not in execution_ids(project)
    assert not files["y2019"].exists() and log_count(project, made["y2019"]) == 0

    by_datetime = project.cli("purge", "--before", "2021-01-01T12:00:00Z", "--yes")
    assert "purged 1 execution(s)" in by_datetime.stdout, by_datetime.stdout + by_datetime.stderr
    assert made["at11"] not in execution_ids(project) and made["at13"] in execution_ids(project)

    by_duration = project.cli("purge", "--before", "P30D", "--yes")
    assert "purged 2 execution(s) and 2 file(s)" in by_duration.stdout, by_duration.stdout + by_duration.stderr
    assert execution_ids(project) == {made["d1"]}
    assert files["d1"].exists() and log_count(project, made["d1"]) == 2

    by_hours = project.cli("purge", "--before", "PT12H", "--yes")
    assert "purged 1 execution(s)" in by_hours.stdout and execution_ids(project) == set()


# -- dry run, filters, keep-last ------------------------------------------------------------------------------
def test_dry_run_lists_and_deletes_nothing(project: Project) -> None:
    made = aged_runs(project, {"a": days_ago(10), "b": days_ago(9), "c": days_ago(0.01)})
    file = add_file(project, "co", "daily", made["a"])
    result = project.cli("purge", "--before", "P1D", "--dry-run")
    assert result.code == 0, result.stderr
    assert listed_ids(result.stdout) == {made["a"], made["b"]}
    assert "co/daily  SUCCESS" in result.stdout
    assert "would purge 2 execution(s); nothing deleted (--dry-run)" in result.stdout
    assert execution_ids(project) == set(made.values()) and file.exists()
    assert log_count(project, made["a"]) == 2


def test_keep_last_per_flow(project: Project) -> None:
    first = aged_runs(project, {f"a{i}": days_ago(10 - 2 * i) for i in range(4)}, "first", "co")  # 10..4 days
    second = aged_runs(project, {f"b{i}": days_ago(10 - i) for i in range(2)}, "second", "co")  # 10, 9 days
    dry = project.cli("purge", "--keep-last", "2", "--dry-run")
    assert listed_ids(dry.stdout) == {first["a0"], first["a1"]}, dry.stdout

    with_date = project.cli("purge", "--keep-last", "1", "--before", "P7D", "--dry-run")
    assert listed_ids(with_date.stdout) == {first["a0"], first["a1"], second["b0"]}, with_date.stdout
    spared = project.cli("purge", "--keep-last", "3", "--before", "P7D", "--dry-run")
    assert listed_ids(spared.stdout) == {first["a0"]}, spared.stdout  # the last 3 stay, however old

    done = project.cli("purge", "--keep-last", "2", "--yes")
    assert "purged 2 execution(s)" in done.stdout, done.stdout + done.stderr
    assert execution_ids(project) == {first["a2"], first["a3"], second["b0"], second["b1"]}


def test_flow_namespace_and_state_filters(project: Project) -> None:
    old = days_ago(5)
    team = aged_runs(project, {"t": old}, "etl", "co.team")
    top = aged_runs(project, {"c": old}, "etl", "co")
    other = aged_runs(project, {"o": old}, "etl", "cobalt")
    failing = small_flow(project, "broken", "co", fail=True)
    failed = run(project, failing)
    assert failed.state == "FAILED"
    age(project, failed.id, old)

    def dry(*args: str) -> set[str]:
        result = project.cli("purge", "--before", "P1D", "--dry-run", *args)
        assert result.code == 0, result.stderr
        return listed_ids(result.stdout)

    assert dry("--namespace", "co") == {team["t"], top["c"], failed.id}  # children too, not `cobalt`
    assert dry("--namespace", "co.team") == {team["t"]}
    assert dry("--flow", "co/etl") == {top["c"]}  # a flow id takes its namespace exactly
    assert dry("--flow", "etl") == {team["t"], top["c"], other["o"]}
    assert dry("--flow", "etl", "--namespace", "cobalt") == {other["o"]}
    assert dry("--state", "FAILED") == {failed.id}
    assert dry("--state", "success", "--namespace", "co.team") == {team["t"]}

    bad_state = project.cli("purge", "--before", "P1D", "--state", "RUNNING", "--yes")
    assert bad_state.code == ExitCode.USAGE and "RUNNING executions are never purged" in bad_state.stderr
    clash = project.cli("purge", "--before", "P1D", "--flow", "co/etl", "--namespace", "cobalt")
    assert clash.code == ExitCode.USAGE and "not in --namespace" in clash.stderr
    nothing = project.cli("purge")
    assert nothing.code == ExitCode.USAGE and "--before, --keep-last or both" in nothing.stderr

    done = project.cli("purge", "--before", "P1D", "--state", "FAILED", "--namespace", "co", "--yes")
    assert "purged 1 execution(s)" in done.stdout, done.stdout + done.stderr
    assert execution_ids(project) == {team["t"], top["c"], other["o"]}
    assert all("Traceback" not in r.stderr for r in (bad_state, clash, nothing, done))


# -- confirmation -----------------------------------------------------------------------------------------------
def test_without_a_terminal_purge_needs_yes(project: Project) -> None:
    made = aged_runs(project, {"a": days_ago(3)})
    refused = project.cli("purge", "--before", "P1D")
    assert refused.code == ExitCode.USAGE, refused.stdout + refused.stderr
    assert "stdin is not a terminal" in refused.stderr and "add --yes" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert execution_ids(project) == set(made.values())


def purge_on_a_terminal(project: Project, answer: bytes) -> tuple[int, str, str]:
    """Run `flowrun purge --before P1D` with stdin and stderr on a pseudo-terminal; answer its question."""
    master, slave = pty.openpty()
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "purge", "--before", "P1D"], cwd=project.root,
                            env=env, stdin=slave, stderr=slave, stdout=subprocess.PIPE)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"for good?" not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 4096)
        os.write(master, answer)
        stdout = proc.communicate(timeout=30)[0].decode()
        while select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, seen.decode(errors="replace")


def test_on_a_terminal_purge_asks_first(project: Project) -> None:
    made = aged_runs(project, {"a": days_ago(3), "b": days_ago(2)})
    code, stdout, terminal = purge_on_a_terminal(project, b"n\n")
    assert code == 0, stdout + terminal
    assert "Delete these 2 execution(s) for good? [y/N]" in terminal
    assert listed_ids(stdout) == set(made.values()) and "nothing deleted" in stdout
    assert execution_ids(project) == set(made.values())

    code, stdout, terminal = purge_on_a_terminal(project, b"y\n")
    assert code == 0 and "purged 2 execution(s)" in stdout, stdout + terminal
    assert execution_ids(project) == set()


# -- unfinished executions ----------------------------------------------------------------------------------------
SLEEPY = """
    id: sleepy
    namespace: co
    concurrency:
      limit: 1
      behavior: QUEUE
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT60S
    """
PAUSING = """
    id: approval
    namespace: co
    tasks:
      - id: wait
        type: io.kestra.plugin.core.flow.Pause
    """


def start(project: Project) -> subprocess.Popen[str]:
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    return subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/sleepy.yaml"], cwd=project.root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def wait_for(project: Project, state: str, count: int, procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 30
    while list(states_by_id(project).values()).count(state) < count:
        assert all(p.poll() is None for p in procs), "a flowrun run ended early"
        assert time.monotonic() < deadline, states_by_id(project)
        time.sleep(0.1)


def test_running_paused_and_queued_executions_are_never_purged(project: Project) -> None:
    project.flow(SLEEPY, "sleepy.yaml")
    paused = run(project, project.flow(PAUSING, "approval.yaml"))
    assert paused.state == "PAUSED"
    procs = [start(project)]
    try:
        wait_for(project, "RUNNING", 1, procs)
        procs.append(start(project))
        wait_for(project, "QUEUED", 1, procs)
        finished = aged_runs(project, {"done": days_ago(2)})
        with sqlite3.connect(project.home / "state.db") as conn:  # the unfinished ones look ancient too
            conn.execute("UPDATE executions SET created_at = '2000-01-01T00:00:00.000000Z', start_date = "
                         "'2000-01-01T00:00:00.000000Z' WHERE state IN ('RUNNING', 'QUEUED', 'PAUSED')")
        before = states_by_id(project)
        assert sorted(before.values()) == ["PAUSED", "QUEUED", "RUNNING", "SUCCESS"]

        dry = project.cli("purge", "--before", "2999-01-01", "--dry-run")
        assert listed_ids(dry.stdout) == {finished["done"]}, dry.stdout
        done = project.cli("purge", "--before", "2999-01-01", "--keep-last", "0", "--yes")
        assert done.code == 0, done.stderr
        assert "purged 1 execution(s)" in done.stdout
        assert "kept 3 unfinished execution(s) that match (PAUSED, QUEUED, RUNNING)" in done.stdout
        assert states_by_id(project) == {k: v for k, v in before.items() if v != "SUCCESS"}
        with sqlite3.connect(project.home / "state.db") as conn:
            naps = conn.execute("SELECT t.state FROM task_runs t JOIN executions e ON e.id = t.execution_id "
                                "WHERE e.state = 'RUNNING'").fetchall()
        assert naps == [("RUNNING",)]  # the running execution's task run is untouched
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_no_unfinished_state_is_ever_purged(project: Project) -> None:
    """One row per unfinished state, owned by a live process (this one) so that nothing reaps it."""
    run(project, small_flow(project, "seed", "co"))  # creates the state DB
    unfinished = ("CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING", "KILLING", "RESTARTED")
    old = "2000-01-01T00:00:00.000000Z"
    with sqlite3.connect(project.home / "state.db") as conn:
        for state in unfinished:
            conn.execute("INSERT INTO executions (id, namespace, flow_id, state, created_at, start_date, pid, "
                         "host, heartbeat) VALUES (?, 'co', 'seed', ?, ?, ?, ?, ?, ?)",
                         (f"live-{state}", state, old, old, os.getpid(), socket.gethostname(), time.time()))
    spec = ExecutionFilter(ended_before=stamp(datetime(2999, 1, 1, tzinfo=UTC)))
    selection = purge_selection(str(project.home), spec)
    assert sorted(item["state"] for item in selection.unfinished) == sorted(unfinished)
    assert [item["state"] for item in selection.purgeable] == ["SUCCESS"]
    unsafe: list[dict[str, Any]] = [*selection.purgeable, *selection.unfinished]
    counts = purge(str(project.home), unsafe)  # even when asked to, unfinished ones stay
    assert counts["executions"] == 1
    assert sorted(states_by_id(project).values()) == sorted(unfinished)


def test_an_execution_restarted_after_selection_is_kept(project: Project) -> None:
    made = aged_runs(project, {"a": days_ago(3), "b": days_ago(3)})
    selection = purge_selection(str(project.home), ExecutionFilter(ended_before=stamp(days_ago(1))))
    assert {item["id"] for item in selection.purgeable} == set(made.values())
    with sqlite3.connect(project.home / "state.db") as conn:  # `flowrun restart` began meanwhile
        conn.execute("UPDATE executions SET state = 'RESTARTED' WHERE id = ?", (made["a"],))
    file = add_file(project, "co", "daily", made["a"])
    counts = purge(str(project.home), selection.purgeable)
    assert counts["executions"] == 1 and counts["files"] == 0
    assert execution_ids(project) == {made["a"]} and file.exists() and log_count(project, made["a"]) == 2
