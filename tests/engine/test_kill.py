"""Killing a running `flowrun run`: kill -9 is noticed by the next command; SIGTERM and SIGINT record KILLED."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import Project

SLEEPY = """\
id: sleepy
namespace: t
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
"""


def start_run(project: Project) -> subprocess.Popen[str]:
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    return subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/flow.yaml"], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_running(project: Project, proc: subprocess.Popen[str], timeout: float = 20) -> str:
    """The execution id, once the state DB shows it RUNNING with its task run RUNNING."""
    db = project.home / "state.db"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    row = conn.execute("SELECT e.id FROM executions e JOIN task_runs t ON t.execution_id = e.id "
                                       "WHERE e.state = 'RUNNING' AND t.task_id = 'nap' "
                                       "AND t.state = 'RUNNING'").fetchone()
            except sqlite3.OperationalError:  # tables not created yet
                row = None
            if row:
                return str(row[0])
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the execution never became RUNNING: {proc.communicate()}")


def test_kill_9_is_marked_killed_by_the_next_command(project: Project) -> None:
    project.flow(SLEEPY)
    proc = start_run(project)
    execution_id = wait_running(project, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    listed = project.cli("executions", "list", "--json")
    assert listed.code == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    [row] = listed.json()
    assert row["id"] == execution_id
    assert row["state"] == "KILLED"
    assert row["endDate"] and row["endDate"].endswith("Z")

    shown = project.cli("executions", "show", execution_id, "--json").json()
    assert [(tr["taskId"], tr["state"]) for tr in shown["taskRuns"]] == [("nap", "KILLED")]
    logs = project.cli("logs", execution_id).stdout
    assert "KILLED" in logs


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_records_killed(project: Project, sig: signal.Signals) -> None:
    project.flow(SLEEPY)
    proc = start_run(project)
    execution_id = wait_running(project, proc)
    started = time.monotonic()
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=20)
    assert time.monotonic() - started < 10, "the Sleep was not interrupted"
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr

    shown = project.cli("executions", "show", execution_id, "--json").json()
    assert shown["state"] == "KILLED"
    assert shown["endDate"] and shown["endDate"] >= shown["startDate"]
    assert [(tr["taskId"], tr["state"]) for tr in shown["taskRuns"]] == [("nap", "KILLED")]
    nap = shown["taskRuns"][0]
    assert nap["endDate"] is not None
    assert [a["state"] for a in nap["attempts"]] == ["KILLED"]


#: the tgkill(2) system call, to hand a signal to one chosen thread of another process
TGKILL = {"x86_64": 234, "aarch64": 131}


def test_sigint_that_lands_on_another_thread_still_stops_the_sleep(project: Project) -> None:
    """The kernel may give a process-wide Ctrl-C to any thread; CPython then runs the handler only when the main
    thread wakes up. Delivered to the heartbeat thread on purpose, it must still stop a PT60S Sleep at once."""
    import ctypes

    project.flow(SLEEPY)
    proc = start_run(project)
    execution_id = wait_running(project, proc)
    others = sorted(int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task") if int(tid) != proc.pid)
    assert others, "the run has a heartbeat thread"
    started = time.monotonic()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(TGKILL[os.uname().machine], proc.pid, others[0], signal.SIGINT) == 0
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10, "the Sleep was not interrupted"
    assert proc.returncode == 1, stderr
    shown = project.cli("executions", "show", execution_id, "--json").json()
    assert shown["state"] == "KILLED"
