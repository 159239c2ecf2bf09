"""execution.Assert, metric.Publish and storage.Write in real flows (the outcomes of Kestra's AssertTest,
PublishTest and WriteTest); the flows are in tests/flows/conformance/checks/."""

from __future__ import annotations

import sqlite3
from typing import Any

from helpers import one


def _metrics(project: Any, execution_id: str) -> dict[str, tuple[str, float]]:
    with sqlite3.connect(project.home / "state.db") as conn:
        rows = conn.execute("SELECT name, type, value FROM metrics WHERE execution_id = ?", (execution_id,))
        return {name: (kind, value) for name, kind, value in rows}


def test_assert_counts_its_conditions(project: Any) -> None:
    # AssertTest#success: success 2, failed 0; AssertTest#failed: the message counts the failed assertions
    path = project.flow_file("conformance/checks/assert.yaml")
    ok = project.run(path, {"param": "ok"})
    assert ok.state == "SUCCESS" and len(ok.task_runs) == 2
    metrics = _metrics(project, ok.id)
    assert (metrics["success"][1], metrics["failed"][1]) == (2.0, 0.0)
    ko = project.run(path, {"param": "ko"})
    assert ko.state == "FAILED" and len(ko.task_runs) == 1
    assert one(ko, "check").error.startswith("1 assertion failed!\nparam was ko")
    assert _metrics(project, ko.id)["failed"][1] == 1.0


def test_publish_records_counters_and_timers(project: Any) -> None:
    # PublishTest#run: two metrics on the task run; a timer given as an ISO duration is recorded in seconds
    ex = project.run(project.flow_file("conformance/checks/publish.yaml"))
    assert ex.state == "SUCCESS"
    assert _metrics(project, ex.id) == {"rows": ("counter", 42.0), "took": ("timer", 1.5)}


def test_write_stores_the_content(project: Any) -> None:
    # WriteTest#run: the new file's URI, ending with the extension
    ex = project.run(project.flow_file("conformance/checks/write.yaml"))
    assert one(ex, "write").outputs["uri"].endswith(".txt")
    assert one(ex, "read").outputs["value"] == "Hello write"


def test_set_variables_deep_merges_and_unset_removes_paths(project: Any) -> None:
    # SetVariables' deep merge (Kestra's MapUtils.deepMerge) and UnsetVariables' dotted paths; overwrite: false
    # refuses a name that exists (SetVariablesTest#shouldFailWhenExistingVariable)
    ex = project.run(project.flow_file("conformance/checks/set-variables.yaml"))
    assert one(ex, "hello").outputs["value"] == "Hello Loïc kept 2"
    assert one(ex, "after").outputs["value"] == 'gone {"added":"2"}'
    assert ex.state == "FAILED" and "following variables already exist: name" in one(ex, "again").error


def test_set_variables_are_recorded_sealed_and_a_restart_renders_with_them(project: Any) -> None:
    # SetVariables is an ExecutionUpdatableTask in Kestra: it changes the execution's variables, which are
    # stored with it; a restart from the failed task does not run it again and still sees what it set
    import base64
    import json

    token = "vars-token-7c1e4b"
    env = {"SECRET_VARS_TOKEN": base64.b64encode(token.encode()).decode()}
    marker = project.root / "gate.ok"
    path = project.flow_file("conformance/checks/set-variables-restart.yaml", marker=str(marker))
    first = project.cli("run", str(path), "--json", env=env)
    assert first.code == 1, first.stderr
    execution_id = first.json()["id"]
    with sqlite3.connect(project.home / "state.db") as conn:
        [(stored,)] = conn.execute("SELECT variables FROM executions WHERE id = ?", (execution_id,))
    assert token not in stored and '"step":"set"' in stored  # the secret-bearing value sealed at rest
    assert json.loads(stored)["vars"]["token"].keys() == {"$secret"}
    marker.write_text("ok")
    again = project.cli("restart", execution_id, "--json", env=env)
    assert again.code == 0, again.stderr
    runs = {run["taskId"]: run for run in again.json()["taskRuns"]}
    assert runs["after"]["outputs"]["value"] == f"set {len(token)}"
    assert len(runs["set_vars"]["attempts"]) == 1  # not run again
