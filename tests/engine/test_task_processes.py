"""Task processes die with their flowrun: kill -9 chaos, grandchildren, the reaper, pid reuse and restart refusal."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Project

from flowrun.app.continuation import continue_execution
from flowrun.errors import UsageError
from flowrun.state import processes
from flowrun.state.db import Database

Starter = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def start_cli(project: Project) -> Iterator[Starter]:
    """Start `flowrun ARGS` in the background; whatever is still running at the end is killed (kill -9)."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
        started.append(subprocess.Popen([sys.executable, "-m", "flowrun", *args], cwd=project.root, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) processes of session `sid`, read from /proc (task processes run in their own session)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            found.append(int(entry))
    return found


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def only_execution(project: Project) -> str:
    listed = project.cli("executions", "list", "--json")
    assert listed.code == 0, listed.stderr
    (execution,) = listed.json()
    return str(execution["id"])


def sleeper() -> subprocess.Popen[bytes]:
    """A real process group that nothing in flowrun started (its own session, like a task's)."""
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_kill_minus_9_then_restart_runs_the_task_exactly_once(project: Project, tmp_path: Path,
        start_cli: Starter) -> None:
    out = tmp_path / "side_effect.txt"
    path = project.flow(f"""\
        id: chaos
        namespace: company.team
        tasks:
          - id: append
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - for i in $(seq 1 12); do echo "$$ $i" >> {out}; sleep 0.2; done
              - echo "done $$" >> {out}
        """)
    runner = start_cli("run", str(path))
    wait_for(lambda: len(lines(out)) >= 3, what="the task to write")
    first_pid = int(lines(out)[0].split()[0])
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    wait_for(lambda: not session_members(first_pid), timeout=3, what="the killed run's processes to end")
    before = len(lines(out))
    time.sleep(0.5)
    assert len(lines(out)) == before, "the killed run's task kept writing"

    restarted = project.cli("restart", only_execution(project))

    assert restarted.code == 0, restarted.stderr
    written = lines(out)
    assert written[:before] == [f"{first_pid} {i}" for i in range(1, before + 1)]
    second = written[before:]
    second_pid = int(second[0].split()[0])
    assert second_pid != first_pid
    assert second == [f"{second_pid} {i}" for i in range(1, 13)] + [f"done {second_pid}"]
    assert sum(1 for x in written if x.startswith("done")) == 1
    assert not session_members(first_pid) and not session_members(second_pid)


def test_grandchildren_die_with_flowrun_even_after_branch_threads_ended(project: Project, tmp_path: Path,
        start_cli: Starter) -> None:
    """The guardian starts from a Parallel branch thread; that thread's end must not take it down with it."""
    pids, long_out = tmp_path / "pids.txt", tmp_path / "long.txt"
    path = project.flow(f"""\
        id: grandchildren
        namespace: company.team
        tasks:
          - id: branches
            type: io.kestra.plugin.core.flow.Parallel
            tasks:
              - id: short
                type: io.kestra.plugin.scripts.shell.Commands
                commands: ["true"]
              - id: long
                type: io.kestra.plugin.scripts.shell.Commands
                commands:
                  - for i in 1 2 3 4 5 6; do echo $i >> {long_out}; sleep 0.1; done
          - id: background
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - echo $$ > {pids}
              - sleep 1000 &
              - echo $! >> {pids}
              - wait
        """)
    runner = start_cli("run", str(path))
    wait_for(lambda: len(lines(pids)) == 2, what="the background task to start")
    shell, grandchild = (int(x) for x in lines(pids))
    assert lines(long_out) == [str(i) for i in range(1, 7)], "the long branch was cut short"
    assert set(session_members(shell)) >= {shell, grandchild}
    (guardian,) = [int(p) for p in os.listdir("/proc") if p.isdigit() and _is_guardian_of(int(p), runner.pid)]
    assert _start_ticks(guardian) < _start_ticks(shell), "the guardian started in a branch was replaced"

    runner.send_signal(signal.SIGKILL)
    runner.wait()

    # no other flowrun command runs: the guardian alone ends the whole group
    wait_for(lambda: not session_members(shell), timeout=3, what="shell and `sleep 1000` to die")
    assert not _running(shell) and not _running(grandchild)


def test_a_grandchild_that_left_the_task_s_session_dies_with_flowrun(project: Project, tmp_path: Path,
        start_cli: Starter) -> None:
    """`setsid` takes it out of the task's group; the guardian still finds it by its environment's token."""
    pids = tmp_path / "pids.txt"
    path = project.flow(f"""\
        id: escaped
        namespace: company.team
        tasks:
          - id: background
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - echo $$ > {pids}
              - setsid sh -c 'echo $$ >> {pids}; exec sleep 1000' </dev/null >/dev/null 2>&1 &
              - sleep 1000
        """)
    runner = start_cli("run", str(path))
    wait_for(lambda: len(lines(pids)) == 2, what="the task and its grandchild to start")
    shell, escaped = (int(x) for x in lines(pids))
    try:
        assert escaped in session_members(escaped) and escaped not in session_members(shell)

        runner.send_signal(signal.SIGKILL)
        runner.wait()

        wait_for(lambda: not _running(shell) and not _running(escaped), timeout=3,
                 what="the task and the grandchild that left its session to die")
    finally:
        for pid in (shell, escaped):
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_reaper_kills_what_a_dead_flowrun_left_when_its_guardian_died_too(project: Project, tmp_path: Path,
        start_cli: Starter) -> None:
    """With the guardian gone, nothing else stops the task when flowrun dies: the next command's reaper does."""
    pids = tmp_path / "pids.txt"
    path = project.flow(f"""\
        id: orphaned
        namespace: company.team
        tasks:
          - id: background
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - echo $$ > {pids}
              - sleep 1000 &
              - echo $! >> {pids}
              - wait
        """)
    runner = start_cli("run", str(path))
    wait_for(lambda: len(lines(pids)) == 2, what="the task to start")
    shell, grandchild = (int(x) for x in lines(pids))
    guardian = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _is_guardian_of(int(p), runner.pid))
    os.kill(guardian, signal.SIGKILL)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    try:
        time.sleep(0.3)
        assert _running(shell) and _running(grandchild), "without a guardian, the task outlives its flowrun"

        listed = project.cli("executions", "list", "--json")  # any command that opens the state reaps

        assert listed.code == 0, listed.stderr
        assert listed.json()[0]["state"] == "KILLED"
        wait_for(lambda: not _running(shell) and not _running(grandchild), timeout=2,
                 what="the reaper to kill the orphaned group")
    finally:
        for pid in (shell, grandchild):
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    db = sqlite3.connect(project.home / "state.db")
    assert db.execute("SELECT COUNT(*) FROM task_processes").fetchone()[0] == 0


def _is_guardian_of(pid: int, parent: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        ppid = int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return False
    return ppid == parent and b"guardian.py" in cmdline


def _start_ticks(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19])


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_reaper_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    stranger = sleeper()
    try:
        with db.write() as conn:  # recorded by a dead flowrun for a process that had another start time
            conn.execute(
                "INSERT INTO task_processes (execution_id, task_run_id, task_id, attempt, host, pgid, "
                "leader_identity, runner_pid, runner_identity, started_at) VALUES "
                "('e', 't', 'task', 1, ?, ?, 'another-boot:1', ?, 'x:1', 0)",
                (socket.gethostname(), stranger.pid, _dead_pid()))

        assert processes.stop_orphans(db) == []

        assert stranger.poll() is None, "a process that only reuses the recorded pid was killed"
        assert db.query("SELECT COUNT(*) FROM task_processes")[0][0] == 0
    finally:
        stranger.kill()
        stranger.wait()


def test_restart_refuses_while_a_task_of_the_earlier_run_still_runs(project: Project) -> None:
    path = project.flow("""\
        id: fails
        namespace: company.team
        tasks:
          - id: boom
            type: io.kestra.plugin.scripts.shell.Commands
            commands: ["exit 3"]
        """)
    execution = project.run(path)
    assert execution.state == "FAILED"
    db = Database(project.home / "state.db")
    leftover = sleeper()
    try:  # this test process is the (live) flowrun that still runs a task of the failed execution
        db.record_process(execution.id, "tr", "boom", 1, leftover.pid)

        refused = project.cli("restart", execution.id)

        assert refused.code == 2
        assert f"task `boom` of its earlier run still runs (process group {leftover.pid}" in refused.stderr
        assert f"kill -- -{leftover.pid}" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert leftover.poll() is None
        with pytest.raises(UsageError):
            continue_execution(execution.id, "restart", home=str(project.home))
    finally:
        leftover.kill()
        leftover.wait()
    again = project.cli("restart", execution.id, "--json")
    assert again.code == 1 and json.loads(again.stdout)["state"] == "FAILED"


def test_a_detached_background_process_ends_with_its_task(project: Project, tmp_path: Path) -> None:
    pids = tmp_path / "pids.txt"
    path = project.flow(f"""\
        id: detached
        namespace: company.team
        tasks:
          - id: daemon
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - nohup sleep 1000 >/dev/null 2>&1 &
              - echo $! > {pids}
        """)

    execution = project.run(path)

    assert execution.state == "SUCCESS"
    assert not _running(int(lines(pids)[0])), "the task's background process outlived the task"
    db = sqlite3.connect(project.home / "state.db")
    assert db.execute("SELECT COUNT(*) FROM task_processes").fetchone()[0] == 0
