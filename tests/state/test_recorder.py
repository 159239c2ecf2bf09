"""The recorder's transactions: an attempt's start and its logs and metrics are written with its end, in one
transaction; what a long attempt holds back is written within FLUSH_AFTER; a killed run leaves finished attempts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from flowrun.engine.context import make_log_line
from flowrun.model.execution import Attempt, Execution, State, TaskRun, new_id, utcnow
from flowrun.state.db import Database
from flowrun.state.recorder import Recorder
from flowrun.state.write_behind import FLUSH_AFTER


def _plain(value: object, secret_paths: set[str]) -> object:
    return value


def _setup(tmp_path: Path, hold: bool) -> tuple[Database, Recorder, Execution, list[str]]:
    """A recorder on a real state DB, and the list of the COMMITs its connection runs from now on."""
    db = Database(tmp_path / "state.db")
    recorder = Recorder(db, _plain, hold=hold)
    execution = Execution(id=new_id(), namespace="dev", flow_id="f")
    execution.set_state(State.RUNNING)
    recorder.execution_updated(execution)
    commits: list[str] = []
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    return db, recorder, execution, commits


def _seen(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection sees (committed rows only); it never creates the file."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as other:
        return other.execute(sql).fetchall()


def _running(path: Path, task_id: str) -> bool:
    try:
        return _seen(path, f"SELECT count(*) FROM task_runs WHERE task_id = '{task_id}'") == [(1,)]
    except sqlite3.OperationalError:  # the file or its tables are not created yet
        return False


def _start(recorder: Recorder, execution: Execution) -> TaskRun:
    taskrun = TaskRun(id=new_id(), execution_id=execution.id, task_id="t", task_type="Return", seq=0)
    taskrun.set_state(State.CREATED)
    recorder.taskrun_updated(execution, taskrun)
    taskrun.attempts.append(Attempt(State.RUNNING, utcnow()))
    taskrun.set_state(State.RUNNING)
    recorder.taskrun_updated(execution, taskrun)
    recorder.log(make_log_line(execution.id, taskrun, 1, "INFO", "working"))
    recorder.metric(execution, taskrun, "length", "counter", 3.0, {})
    return taskrun


def test_an_attempt_is_written_in_one_transaction_at_its_end(tmp_path: Path) -> None:
    db, recorder, execution, commits = _setup(tmp_path, hold=True)
    taskrun = _start(recorder, execution)
    assert commits == [] and _seen(db.path, "SELECT state FROM task_runs") == []

    taskrun.attempts[-1].state, taskrun.end_date = State.SUCCESS, utcnow()
    taskrun.outputs = {"value": "abc"}
    taskrun.set_state(State.SUCCESS)
    recorder.taskrun_updated(execution, taskrun)

    assert commits == ["COMMIT"]
    [(state, outputs, histories)] = _seen(db.path, "SELECT state, outputs, histories FROM task_runs")
    assert (state, outputs) == ("SUCCESS", '{"value":"abc"}')
    assert [entry["state"] for entry in json.loads(histories)] == ["CREATED", "RUNNING", "SUCCESS"]
    assert _seen(db.path, "SELECT message FROM logs") == [("working",)]
    assert _seen(db.path, "SELECT name, value FROM metrics") == [("length", 3.0)]


def test_the_end_of_a_pure_task_is_held_until_another_task_starts(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    recorder = Recorder(db, _plain, hold=True, pure_types=frozenset({"Return"}))
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state=State.RUNNING)
    recorder.execution_updated(execution)
    pure = _start(recorder, execution)
    pure.set_state(State.SUCCESS)
    recorder.taskrun_updated(execution, pure)
    assert _seen(db.path, "SELECT state FROM task_runs") == []  # a crash now makes a restart run it again
    other = TaskRun(id=new_id(), execution_id=execution.id, task_id="http", task_type="Request", seq=1)
    other.set_state(State.RUNNING)
    recorder.taskrun_updated(execution, other)  # it may act or read (log.Fetch): the ends before it go first
    assert _seen(db.path, "SELECT task_id, state FROM task_runs ORDER BY seq") == [("t", "SUCCESS"), ("http", "RUNNING")]
    other.set_state(State.SUCCESS)
    recorder.taskrun_updated(execution, other)  # a task that acts outside the execution: its end is written now
    assert _seen(db.path, "SELECT task_id, state FROM task_runs ORDER BY seq") == [("t", "SUCCESS"), ("http", "SUCCESS")]
    other.set_state(State.FAILED)  # (any state but SUCCESS of a pure task is durable, whatever its type)
    pure.set_state(State.FAILED)
    recorder.taskrun_updated(execution, pure)
    assert ("t", "FAILED") in _seen(db.path, "SELECT task_id, state FROM task_runs")


def test_what_a_long_attempt_holds_back_is_written_within_flush_after(tmp_path: Path) -> None:
    db, recorder, execution, commits = _setup(tmp_path, hold=True)
    _start(recorder, execution)
    started = time.monotonic()
    while not _seen(db.path, "SELECT message FROM logs") and time.monotonic() - started < 5:
        time.sleep(0.01)
    waited = time.monotonic() - started
    assert _seen(db.path, "SELECT state FROM task_runs") == [("RUNNING",)]
    assert _seen(db.path, "SELECT message FROM logs") == [("working",)]
    assert FLUSH_AFTER * 0.5 <= waited < FLUSH_AFTER + 2.0  # held back, then written by the write-behind thread
    recorder.log(make_log_line(execution.id, None, None, "INFO", "later"))
    recorder.flush()  # the engine hands the execution to another process: written at once
    assert _seen(db.path, "SELECT message FROM logs ORDER BY id") == [("working",), ("later",)]


def test_without_holding_every_event_is_its_own_transaction(tmp_path: Path) -> None:
    db, recorder, execution, commits = _setup(tmp_path, hold=False)
    _start(recorder, execution)
    assert commits == ["COMMIT"] * 4
    assert _seen(db.path, "SELECT state FROM task_runs") == [("RUNNING",)]


FLOW = """id: returns
namespace: dev
tasks:
{tasks}  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
"""


def test_a_run_killed_at_any_moment_leaves_a_prefix_of_its_events_and_restarts(tmp_path: Path) -> None:
    """kill -9 in the middle of 2,000 Return tasks (pure: their ends are held): the task runs on disk are
    r0..rk SUCCESS and at most the next one started; `restart` reuses those and runs the rest."""
    tasks = "".join(f"  - id: r{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{{{ flow.id }}}}-{i}\"\n"
                    for i in range(2000))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "returns.yaml").write_text(f"id: returns\nnamespace: dev\ntasks:\n{tasks}", encoding="utf-8")
    env = {**os.environ, "FLOWRUN_HOME": str(tmp_path / ".flowrun")}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/returns.yaml"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / ".flowrun" / "state.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (db.exists() and _running(db, "r20")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = _seen(db, "SELECT seq, task_id, state FROM task_runs ORDER BY seq")
    done = [task_id for _, task_id, state in rows if state == "SUCCESS"]
    assert len(done) >= 20 and done == [f"r{i}" for i in range(len(done))]
    assert len(rows) - len(done) <= 1 and [seq for seq, _, _ in rows] == list(range(len(rows)))
    assert len(done) < 2000, "the run ended before it was killed: nothing was tested"
    [(metrics,)] = _seen(db, "SELECT count(*) FROM metrics")
    assert 2 * len(done) <= metrics <= 2 * len(rows)  # each SUCCESS came with its two metrics, or after them

    [(execution_id,)] = _seen(db, "SELECT id FROM executions")
    restarted = subprocess.run([sys.executable, "-m", "flowrun", "restart", execution_id, "--json"], cwd=tmp_path,
                               env=env, capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    finished = json.loads(restarted.stdout)
    assert finished["state"] == "SUCCESS"
    runs = {run["taskId"]: run for run in finished["taskRuns"]}
    assert len(runs) == 2000 and runs["r1999"]["outputs"] == {"value": "returns-1999"}
    assert all(len(runs[task_id]["attempts"]) == 1 for task_id in done)  # reused, not run again


def test_a_killed_run_leaves_its_finished_attempts_and_the_running_one(tmp_path: Path) -> None:
    """kill -9 while the last task runs: every earlier attempt is on disk, the running one within FLUSH_AFTER,
    and the next command marks it KILLED."""
    tasks = "".join(f"  - id: r{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{{{ flow.id }}}}-{i}\"\n"
                    for i in range(50))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "returns.yaml").write_text(FLOW.format(tasks=tasks), encoding="utf-8")
    env = {**os.environ, "FLOWRUN_HOME": str(tmp_path / ".flowrun")}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/returns.yaml"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / ".flowrun" / "state.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and _running(db, "wait"):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    states = dict(_seen(db, "SELECT task_id, state FROM task_runs"))
    assert [states[f"r{i}"] for i in range(50)] == ["SUCCESS"] * 50 and states["wait"] == "RUNNING"
    assert _seen(db, "SELECT count(*) FROM metrics") == [(100,)]  # two per Return, written with each end

    subprocess.run([sys.executable, "-m", "flowrun", "executions", "list"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    assert dict(_seen(db, "SELECT task_id, state FROM task_runs"))["wait"] == "KILLED"
    assert _seen(db, "SELECT state FROM executions") == [("KILLED",)]


def test_a_task_process_is_recorded_with_its_running_and_forgotten_with_its_end(tmp_path: Path) -> None:
    db, recorder, execution, commits = _setup(tmp_path, hold=True)
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)  # a real process group to record
    try:
        taskrun = _start(recorder, execution)
        recorder.process_started(execution, taskrun, 1, sleeper.pid)

        assert commits == ["COMMIT"]  # the held RUNNING and the process row, together
        assert _seen(db.path, "SELECT state FROM task_runs") == [("RUNNING",)]
        assert _seen(db.path, "SELECT pgid FROM task_processes") == [(sleeper.pid,)]

        sleeper.kill()
        sleeper.wait()
        recorder.process_ended(execution, taskrun, 1, sleeper.pid)
        assert _seen(db.path, "SELECT pgid FROM task_processes") == [(sleeper.pid,)]  # held until the end
        taskrun.attempts[-1].state, taskrun.end_date = State.SUCCESS, utcnow()
        taskrun.set_state(State.SUCCESS)
        recorder.taskrun_updated(execution, taskrun)

        assert commits == ["COMMIT", "COMMIT"]
        assert _seen(db.path, "SELECT state FROM task_runs") == [("SUCCESS",)]
        assert _seen(db.path, "SELECT pgid FROM task_processes") == []
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
