"""`logs --follow` tails an execution that runs in another process until it ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import Project


def _flowrun(project: Project, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    return subprocess.Popen([sys.executable, "-m", "flowrun", *args], cwd=project.root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _running_execution(project: Project, deadline: float) -> str:
    """The id of the one execution, once it logged its first line."""
    while time.monotonic() < deadline:
        rows = project.cli("executions", "list", "--json").json()
        if rows and "waiting for the gate" in project.cli("logs", rows[0]["id"]).stdout:
            # read again: `rows` may predate the line (CREATED then), but a logged line comes after RUNNING
            [now] = project.cli("executions", "list", "--json").json()
            assert now["state"] == "RUNNING"
            return str(now["id"])
        time.sleep(0.1)
    raise AssertionError("the execution did not start")


def _start_gated(project: Project, gate: Path) -> tuple[subprocess.Popen[str], str]:
    project.flow_file("cli/gated.yaml", "gated.yaml")
    run = _flowrun(project, "run", "flows/gated.yaml", "--input", f"gate={gate}")
    return run, _running_execution(project, time.monotonic() + 60)


def test_follow_prints_new_lines_until_the_execution_ends(project: Project, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run, execution_id = _start_gated(project, gate)
    follow = _flowrun(project, "logs", execution_id, "--follow")
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()  # printed while the execution still waits at the gate
        assert "INFO  before: waiting for the gate" in first
        assert follow.poll() is None  # still following
        gate.touch()
        out, errors = follow.communicate(timeout=60)
    finally:
        follow.kill()
        run.wait(timeout=60)
    assert follow.returncode == 0, errors
    assert "WARN  after: the gate opened" in out
    assert f"execution {execution_id} is SUCCESS" in errors
    assert run.returncode == 0


def test_follow_with_level_and_json_prints_json_lines(project: Project, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run, execution_id = _start_gated(project, gate)
    follow = _flowrun(project, "logs", execution_id[:8], "--follow", "--level", "WARN", "--json")
    try:
        time.sleep(0.5)
        assert follow.poll() is None
        gate.touch()
        out, errors = follow.communicate(timeout=60)
    finally:
        follow.kill()
        run.wait(timeout=60)
    assert follow.returncode == 0, errors
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["level"], line["task_id"], line["message"]) for line in lines] == [
        ("WARN", "after", "the gate opened")]


def test_follow_of_an_ended_execution_prints_its_logs_and_returns(project: Project) -> None:
    project.flow_file("cli/labelled.yaml", "labelled.yaml", namespace="dev")
    execution_id = project.cli("run", "flows/labelled.yaml", "--json").json()["id"]
    done = project.cli("logs", execution_id, "-f", timeout=30)
    assert done.code == 0 and "say: month none" in done.stdout
    unknown = project.cli("logs", execution_id, "-f", "--task", "nope", timeout=30)
    assert unknown.code == 2 and "has no task `nope`" in unknown.stderr
