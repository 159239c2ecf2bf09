"""Task processes die with the flowrun that started them: the guardian's groups and token (flowrun/scripts/lifeline.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowrun.scripts import guardian
from flowrun.scripts.lifeline import GUARDIAN, VARIABLE
from flowrun.scripts.process import run_program

#: a flowrun stand-in: runs argv[1] as a shell task through run_program, printing the task's lines
STARTER = """
import os, sys
from pathlib import Path
from flowrun.scripts.process import run_program
run_program(["/bin/sh", "-c", sys.argv[1]], Path.cwd(), dict(os.environ), lambda line, err: print(line, flush=True))
"""

#: a flowrun stand-in that dies inside the spawn: the task process runs, its group was never registered
UNREGISTERED = """
import os, subprocess, time
from flowrun.scripts.lifeline import GUARDIAN
env = GUARDIAN.environ(dict(os.environ))
def popen():
    proc = subprocess.Popen(["sleep", "1000"], env=env, start_new_session=True)
    print(proc.pid, flush=True)
    time.sleep(1000)  # killed here, before the registration
GUARDIAN.spawn(popen)
"""

#: as UNREGISTERED, but the child has not exec'd yet when flowrun dies: between setsid and exec, it waits for
#: flowrun's death, then 0.3 s more (the guardian has looked by then), then execs
PRE_EXEC = """
import os, time
from flowrun.scripts.lifeline import GUARDIAN
env = GUARDIAN.environ(dict(os.environ))
def popen():
    parent = os.getpid()  # read before the fork: the test may kill this process right after the child's setsid
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.closerange(3, 4096)  # as close_fds: the guardian's pipe is no longer held
        while os.getppid() == parent:
            time.sleep(0.01)
        time.sleep(0.3)
        os.execve("/bin/sleep", ["sleep", "1000"], env)
    print(pid, flush=True)
    time.sleep(1000)
GUARDIAN.spawn(popen)
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _runs_sleep(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0")
    except OSError:
        return False


def _session(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[3])


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _start(tmp_path: Path, code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, cwd=tmp_path)


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_the_task_and_a_grandchild_that_left_its_session_die_with_flowrun(tmp_path: Path) -> None:
    script = "echo $$; setsid sh -c 'echo $$; exec sleep 1000' </dev/null & sleep 1000"
    parent = _start(tmp_path, STARTER, script)
    assert parent.stdout is not None
    shell, grandchild = int(parent.stdout.readline()), int(parent.stdout.readline())
    try:
        _wait(lambda: _runs_sleep(grandchild), 5, "the grandchild's exec")
        assert _session(grandchild) == grandchild != _session(shell), "the grandchild did not leave the session"
        assert _alive(shell)

        parent.send_signal(signal.SIGKILL)
        parent.wait()

        _wait(lambda: not _alive(shell) and not _alive(grandchild), 5, "the task and its grandchild to die")
    finally:
        _kill_all([shell, grandchild])


def test_a_task_process_flowrun_died_before_registering_still_dies(tmp_path: Path) -> None:
    parent = _start(tmp_path, UNREGISTERED)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        _wait(lambda: VARIABLE.encode() in Path(f"/proc/{child}/environ").read_bytes(), 5, "the child's exec")

        parent.send_signal(signal.SIGKILL)
        parent.wait()

        _wait(lambda: not _alive(child), 5, "the unregistered task process to die")
    finally:
        _kill_all([child])


def test_a_spawn_that_execs_after_flowrun_died_is_waited_for_and_killed(tmp_path: Path) -> None:
    parent = _start(tmp_path, PRE_EXEC)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        _wait(lambda: _session(child) == child, 5, "the child's setsid")
        parent.send_signal(signal.SIGKILL)
        parent.wait()

        _wait(lambda: not _alive(child), 5, "the task process that exec'd after flowrun's death to die")
    finally:
        _kill_all([child])


def test_the_scan_finds_the_token_and_only_it(tmp_path: Path) -> None:
    token = os.urandom(16).hex()
    ours = subprocess.Popen(["sleep", "60"], env={**os.environ, VARIABLE: f"another:{token}"}, start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], env={**os.environ, VARIABLE: os.urandom(16).hex()},
                             start_new_session=True)
    try:
        for proc in (ours, other):
            _wait(lambda p=proc: _runs_sleep(p.pid), 5, "sleep's exec")

        carriers, _ = guardian.scan(token.encode(), settling=False)

        assert carriers == {ours.pid: ours.pid}
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def test_a_forked_session_leader_that_has_not_exec_d_is_unsettled() -> None:
    forker = subprocess.Popen([sys.executable, "-c", "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
                               "    print(os.getpid(), flush=True)\n    time.sleep(60)\n    os._exit(0)\n"],
                              stdout=subprocess.PIPE, text=True)
    assert forker.stdout is not None
    child = int(forker.stdout.readline())
    plain = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        _wait(lambda: _runs_sleep(plain.pid), 5, "sleep's exec")
        for pid, about_to_exec in ((child, True), (plain.pid, False)):
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert guardian._about_to_exec(pid, environ) is about_to_exec
    finally:
        os.kill(child, signal.SIGKILL)
        plain.kill()
        plain.wait()
        forker.wait()


def test_the_guardian_counts_spawns_in_flight() -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"*\n+10\n*\n!\n*\n+1")  # a line cut in two writes
        os.write(write, b"1\n-10\n*\n+12")  # a line without its end is not one
        os.close(write)
        assert guardian.watch(read, pause_s=0) == ({11}, 1)
    finally:
        os.close(read)


def test_the_task_env_carries_the_token_and_the_caller_s_dict_is_left_alone(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], VARIABLE: "outer"}
    seen: list[str] = []
    result = run_program(["/bin/sh", "-c", f'echo "${VARIABLE}"'], tmp_path, env, lambda line, err: seen.append(line))
    assert result.exit_code == 0
    (value,) = seen
    outer, token = value.split(":")
    assert outer == "outer" and len(token) == 32 and env == {"PATH": os.environ["PATH"], VARIABLE: "outer"}
    assert GUARDIAN.pid is not None  # its exec may still be under way: its command line is empty until then
    _wait(lambda: token.encode() in Path(f"/proc/{GUARDIAN.pid}/cmdline").read_bytes(), 5, "the guardian's exec")
    assert VARIABLE.encode() not in Path(f"/proc/{GUARDIAN.pid}/environ").read_bytes()


def test_a_missing_or_unexecutable_program_raises(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program", encoding="utf-8")
    env = {"PATH": str(tmp_path)}
    with pytest.raises(FileNotFoundError):
        run_program(["no-such-program-here"], tmp_path, env, lambda line, err: None)
    with pytest.raises(PermissionError):
        run_program(["./plain.txt"], tmp_path, env, lambda line, err: None)
