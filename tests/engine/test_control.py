"""Subflows, flow concurrency across processes, pause/resume, restart and replay (issue 3).

The flows are in tests/flows/control/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import Project


def child_flow(project: Project, fail: bool = False) -> None:
    project.flow_file("control/child.yaml", "child.yaml", fail="true" if fail else "false")


def parent_flow(project: Project, option: str = "") -> Any:
    """The parent flow calling dev/child; `option` is one more property line of its Subflow task."""
    return project.flow_file("control/parent.yaml", "parent.yaml", option=option)


@pytest.mark.both_states
def test_subflow_outputs_and_link(project: Project) -> None:
    # Kestra docs (Subflow task): outputs executionId, state and the child flow's outputs.
    child_flow(project)
    ex = project.run(parent_flow(project, "inheritLabels: true"))
    assert ex.state == "SUCCESS"
    call = next(tr for tr in ex.task_runs if tr.task_id == "call")
    assert call.outputs["state"] == "SUCCESS"
    assert call.outputs["outputs"] == {"greeting": "hi Ana"}
    assert next(tr for tr in ex.task_runs if tr.task_id == "after").outputs["value"] == "hi Ana"
    child = json.loads(project.cli("executions", "show", call.outputs["executionId"], "--json").stdout)
    assert child["parentId"] == ex.id
    assert {"key": "team", "value": "data"} in child["labels"]
    assert child["trigger"]["executionId"] == ex.id


def test_subflow_failure_is_transmitted(project: Project) -> None:
    child_flow(project, fail=True)
    ex = project.run(parent_flow(project))
    assert ex.state == "FAILED"
    assert [tr.task_id for tr in ex.task_runs] == ["call"]


def test_subflow_failure_not_transmitted(project: Project) -> None:
    child_flow(project, fail=True)
    ex = project.run(parent_flow(project, "transmitFailed: false"))
    assert ex.state == "SUCCESS"
    assert next(tr for tr in ex.task_runs if tr.task_id == "call").outputs["state"] == "FAILED"


def test_subflow_without_wait(project: Project) -> None:
    child_flow(project)
    ex = project.run(parent_flow(project, "wait: false"))
    assert ex.state == "SUCCESS"
    call = next(tr for tr in ex.task_runs if tr.task_id == "call")
    assert set(call.outputs) == {"executionId"}
    child = json.loads(project.cli("executions", "show", call.outputs["executionId"], "--json").stdout)
    assert child["state"] == "SUCCESS"


def test_missing_subflow_warns_at_validate_and_fails_clearly_at_run_time(project: Project) -> None:
    parent_flow(project)
    result = project.cli("validate", "flows/parent.yaml")
    assert result.code == 0, result.stderr
    assert "ok  flows/parent.yaml" in result.stdout and "Traceback" not in result.stderr
    assert re.search(r"^warning: flows/parent\.yaml:6:5: task `call`: subflow dev/child is not among the flows "
                     r"under .*/flows; the task fails at run time", result.stderr, re.M), result.stderr
    run = project.cli("run", "flows/parent.yaml")
    assert run.code == 1 and "Traceback" not in run.stderr
    flows_dir = project.root / "flows"
    assert (f"ERROR call: subflow dev/child not found: no flow with namespace `dev` and id `child` under {flows_dir} "
            "(1 flow file(s) searched)") in run.stdout + run.stderr


def concurrency_flow(project: Project, behavior: str) -> Any:
    return project.flow_file("control/limited.yaml", "limited.yaml", behavior=behavior)


def run_two(project: Project) -> list[dict[str, Any]]:
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    procs = []
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/limited.yaml", "--json"],
                                      cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
        time.sleep(0.3)
    return [json.loads(p.communicate(timeout=60)[0]) for p in procs]


def test_concurrency_fail_across_processes(project: Project) -> None:
    concurrency_flow(project, "FAIL")
    states = sorted(doc["state"] for doc in run_two(project))
    assert states == ["FAILED", "SUCCESS"]


@pytest.mark.both_states
def test_concurrency_queue_across_processes(project: Project) -> None:
    concurrency_flow(project, "QUEUE")
    docs = run_two(project)
    assert [doc["state"] for doc in docs] == ["SUCCESS", "SUCCESS"]
    spans = sorted((doc["taskRuns"][0]["startDate"], doc["taskRuns"][0]["endDate"]) for doc in docs)
    assert spans[0][1] <= spans[1][0], f"task runs overlap: {spans}"


@pytest.mark.both_states
def test_pause_and_resume(project: Project) -> None:
    path = project.flow_file("control/approval.yaml")
    first = project.cli("run", str(path), "--json")
    assert first.code == 5
    assert "flowrun resume" in first.stderr
    doc = first.json()
    assert doc["state"] == "PAUSED"
    resumed = project.cli("resume", doc["id"], "--input", "ok=yes", "--json")
    assert resumed.code == 0, resumed.stderr
    final = resumed.json()
    assert final["state"] == "SUCCESS"
    after = next(tr for tr in final["taskRuns"] if tr["taskId"] == "after")
    assert after["outputs"]["value"] == "ready yes"


def test_pause_with_duration_goes_on(project: Project) -> None:
    path = project.flow_file("control/breather.yaml")
    ex = project.run(path)
    assert ex.state == "SUCCESS"
    assert [tr.state for tr in ex.task_runs] == ["SUCCESS", "SUCCESS"]


@pytest.mark.both_states
def test_restart_reruns_only_what_failed(project: Project) -> None:
    marker = project.root / "marker"
    counter = project.root / "count.txt"
    path = project.flow_file("control/flaky.yaml", counter=counter, marker=marker)
    first = project.cli("run", str(path), "--json")
    assert first.code == 1
    execution_id = first.json()["id"]
    marker.write_text("ok")
    restarted = project.cli("restart", execution_id, "--json")
    assert restarted.code == 0, restarted.stderr
    doc = restarted.json()
    assert doc["id"] == execution_id and doc["state"] == "SUCCESS"
    assert counter.read_text().count("run") == 1, "the task that succeeded ran again"
    runs = {tr["taskId"]: tr for tr in doc["taskRuns"]}
    assert [a["state"] for a in runs["needs_marker"]["attempts"]] == ["FAILED", "SUCCESS"]
    assert {"key": "system.restarted", "value": "true"} in doc["labels"]


def test_replay_from_a_task(project: Project) -> None:
    path = project.flow_file("control/replayed.yaml")
    first = project.cli("run", str(path), "--json").json()
    replay = project.cli("replay", first["id"], "--from", "b", "--json")
    assert replay.code == 0, replay.stderr
    doc = replay.json()
    assert doc["id"] != first["id"]
    runs = {tr["taskId"]: tr for tr in doc["taskRuns"]}
    assert runs["a"]["outputs"]["value"] == first["id"], "the earlier output was copied, not recomputed"
    assert runs["b"]["outputs"]["value"] == f"{first['id']}-b"


def test_graph_and_gantt_commands(project: Project) -> None:
    path = project.flow_file("control/pic.yaml")
    mermaid = project.cli("graph", str(path), "--format", "mermaid")
    assert mermaid.code == 0 and "par" in mermaid.stdout and "x" in mermaid.stdout
    tree = project.cli("graph", str(path))
    assert tree.code == 0 and "par" in tree.stdout
    doc = project.cli("run", str(path), "--json").json()
    gantt = project.cli("executions", "show", doc["id"], "--gantt")
    assert gantt.code == 0 and "x" in gantt.stdout and "SUCCESS" in gantt.stdout


def test_logs_of_parallel_branches_stay_attributed(project: Project) -> None:
    path = project.flow_file("control/chatty.yaml")
    doc = project.cli("run", str(path), "--json").json()
    for i in range(6):
        lines = project.cli("logs", doc["id"], "--task", f"b{i}").stdout.splitlines()
        assert [line.split(": ", 1)[1] for line in lines] == [f"from b{i} one", f"from b{i} two"]


def test_sigterm_stops_parallel_branches_at_once(project: Project) -> None:
    path = project.flow_file("control/stoppable.yaml")
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", str(path)], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while True:  # wait until both branches run
        listed = project.cli("executions", "list", "--json").json()
        runs = json.loads(project.cli("executions", "show", listed[0]["id"], "--json").stdout)["taskRuns"] \
            if listed else []
        if sum(tr["state"] == "RUNNING" for tr in runs) >= 3:
            break
        assert time.monotonic() < deadline, "the branches never started"
        time.sleep(0.2)
    proc.terminate()
    started = time.monotonic()
    proc.communicate(timeout=15)
    assert time.monotonic() - started < 5, "the branches were not told to stop"
    assert proc.returncode == 1
    doc = json.loads(project.cli("executions", "show", listed[0]["id"], "--json").stdout)
    assert doc["state"] == "KILLED"
    assert {tr["taskId"]: tr["state"] for tr in doc["taskRuns"]} == {
        "par": "KILLED", "nap": "KILLED", "shell_nap": "KILLED"}
    leftovers = subprocess.run(["pgrep", "-f", "sleep 31"], capture_output=True, text=True).stdout
    assert not leftovers.strip(), "the shell branch's process outlived the run"


def test_sigterm_during_a_subflow_kills_parent_and_child(project: Project) -> None:
    project.flow_file("control/slow_child.yaml", "slow_child.yaml")
    path = project.flow_file("control/slow_parent.yaml", "slow_parent.yaml")
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", str(path)], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len([e for e in project.cli("executions", "list", "--json").json() if e["state"] == "RUNNING"]) < 2:
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.2)
    proc.terminate()
    proc.communicate(timeout=15)
    assert proc.returncode == 1
    states = {e["flowId"]: e["state"] for e in project.cli("executions", "list", "--json").json()}
    assert states == {"slow_parent": "KILLED", "slow_child": "KILLED"}
    parent = next(e for e in project.cli("executions", "list", "--json").json() if e["flowId"] == "slow_parent")
    runs = json.loads(project.cli("executions", "show", parent["id"], "--json").stdout)["taskRuns"]
    assert [tr["taskId"] for tr in runs] == ["call"], "errors handlers must not run when the run is killed"


def test_a_dead_queued_process_does_not_wedge_the_queue(project: Project) -> None:
    gate = project.root / "gate"
    # the first execution holds the slot until the test opens the gate
    project.flow_file("control/limited-gate.yaml", "limited.yaml", gate=gate)
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/limited.yaml", "--json"],
                                cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def states() -> list[str]:
        return [e["state"] for e in project.cli("executions", "list", "--json").json()]

    first = start()
    deadline = time.monotonic() + 20
    while states().count("RUNNING") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    doomed = start()
    while states().count("QUEUED") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    doomed.kill()  # kill -9 of the process holding a QUEUED execution
    doomed.wait()
    last = start()
    gate.touch()
    docs = [json.loads(p.communicate(timeout=60)[0]) for p in (first, last)]
    assert [doc["state"] for doc in docs] == ["SUCCESS", "SUCCESS"]
    assert sorted(states()) == ["KILLED", "SUCCESS", "SUCCESS"]
