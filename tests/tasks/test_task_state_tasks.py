"""Kestra's state.Get/Set/Delete in real flows: merging, scoping by flow, namespace and taskrun value, errors."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import Project
from coretask_harness import CORE, assert_clean, run, taskrun

from flowrun.tasks.task_state import merge_maps

GET, SET, DELETE = f"{CORE}.state.Get", f"{CORE}.state.Set", f"{CORE}.state.Delete"


def state_rows(project: Project) -> list[tuple]:
    with sqlite3.connect(project.home / "state.db") as conn:
        return conn.execute("SELECT namespace, flow_id, name, has_value, taskrun_value, data FROM task_states "
                            "ORDER BY name, taskrun_value").fetchall()


def test_set_merges_get_reads_delete_removes(project: Project) -> None:
    """Kestra's StateTest.run, as a flow: the state starts empty, Set merges, Delete empties it."""
    tasks = f"""\
  - id: before
    type: {GET}
  - id: first
    type: {SET}
    data:
      "{{{{ inputs.key }}}}": "{{{{ inputs.inc }}}}"
  - id: second
    type: io.kestra.core.tasks.states.Set
    data:
      "{{{{ inputs.key }}}}": "2"
      test2: "3"
  - id: read
    type: {GET}
  - id: drop
    type: {DELETE}
  - id: after
    type: {GET}
"""
    inputs = "  - id: key\n    type: STRING\n    defaults: test\n  - id: inc\n    type: INT\n    defaults: 1\n"
    execution = run(project, tasks, input_decl=inputs)
    assert execution.state == "SUCCESS"
    assert taskrun(execution, "before").outputs == {"count": 0, "data": {}}
    assert taskrun(execution, "first").outputs == {"count": 1, "key": "f_states_tasks-states_default"}
    assert taskrun(execution, "second").outputs["count"] == 2
    assert taskrun(execution, "read").outputs == {"count": 2, "data": {"test": "2", "test2": "3"}}
    assert taskrun(execution, "drop").outputs == {"deleted": True}
    assert taskrun(execution, "after").outputs == {"count": 0, "data": {}}
    assert state_rows(project) == []


def test_state_outlives_the_execution_and_is_per_flow(project: Project) -> None:
    setter = f"  - id: put\n    type: {SET}\n    name: cursor\n    data:\n      last: \"{{{{ execution.id }}}}\"\n"
    first = run(project, setter, flow_id="producer")
    getter = f"  - id: read\n    type: {GET}\n    name: cursor\n"
    assert taskrun(run(project, getter, flow_id="producer"), "read").outputs == {
        "count": 1, "data": {"last": first.id}}
    assert taskrun(run(project, getter, flow_id="other"), "read").outputs == {"count": 0, "data": {}}
    assert state_rows(project) == [("t.team", "producer", "cursor", 0, "", f'{{"last":"{first.id}"}}')]


def test_namespace_true_shares_the_state_across_flows(project: Project) -> None:
    """Kestra's StateNamespaceTest.run."""
    run(project, f"  - id: put\n    type: {SET}\n    namespace: true\n    data:\n      john: doe\n", flow_id="one")
    shared = run(project, f"  - id: read\n    type: {GET}\n    namespace: true\n", flow_id="two")
    own = run(project, f"  - id: read\n    type: {GET}\n", flow_id="two")
    assert taskrun(shared, "read").outputs == {"count": 1, "data": {"john": "doe"}}
    assert taskrun(own, "read").outputs == {"count": 0, "data": {}}
    assert state_rows(project)[0][:3] == ("t.team", "", "default")


def test_taskrun_value_isolates_loop_iterations_unless_disabled(project: Project) -> None:
    tasks = f"""\
  - id: each
    type: {CORE}.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: own
        type: {SET}
        name: per
        data:
          seen: "{{{{ taskrun.value }}}}"
      - id: shared
        type: {SET}
        name: all
        taskrunValue: false
        data:
          "{{{{ taskrun.value }}}}": "yes"
      - id: again
        type: {GET}
        name: per
  - id: outside
    type: {GET}
    name: per
  - id: everything
    type: {GET}
    name: all
"""
    execution = run(project, tasks)
    assert execution.state == "SUCCESS"
    assert [tr.outputs for tr in execution.task_runs if tr.task_id == "again"] == [
        {"count": 1, "data": {"seen": "a"}}, {"count": 1, "data": {"seen": "b"}}]
    assert [tr.outputs["key"] for tr in execution.task_runs if tr.task_id == "own"] == [
        "f_states_tasks-states_per_a", "f_states_tasks-states_per_b"]
    assert taskrun(execution, "outside").outputs == {"count": 0, "data": {}}
    assert taskrun(execution, "everything").outputs == {"count": 2, "data": {"a": "yes", "b": "yes"}}
    assert [(row[2], row[3], row[4]) for row in state_rows(project)] == [
        ("all", 0, ""), ("per", 1, "a"), ("per", 1, "b")]


def test_set_merges_nested_maps_and_lists_like_kestra() -> None:
    current = {"a": {"x": 1, "y": [1, 2]}, "keep": "me", "n": "old"}
    update = {"a": {"y": [2, 3], "z": 0}, "n": None, "new": [1]}
    assert merge_maps(current, update) == {"a": {"x": 1, "y": [1, 2, 3], "z": 0}, "keep": "me", "n": "old",
                                           "new": [1]}


def test_set_data_from_an_expression_and_nested_values(project: Project) -> None:
    tasks = f"""\
  - id: put
    type: {SET}
    data: "{{{{ {{'cfg': {{'a': 1}}, 'tags': ['x']}} }}}}"
  - id: more
    type: {SET}
    data:
      cfg:
        b: two
      tags: [y, x]
  - id: read
    type: {GET}
"""
    execution = run(project, tasks)
    assert taskrun(execution, "read").outputs == {
        "count": 2, "data": {"cfg": {"a": 1, "b": "two"}, "tags": ["x", "y"]}}


def test_a_secret_in_a_state_is_encrypted_at_rest(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "c3VwZXItc2VjcmV0LXZhbHVl")  # base64 of super-secret-value
    tasks = f"""\
  - id: put
    type: {SET}
    data:
      token: "{{{{ secret('TOKEN') }}}}"
  - id: read
    type: {GET}
  - id: say
    type: {CORE}.log.Log
    message: "token is {{{{ outputs.read.data.token }}}}"
"""
    execution = run(project, tasks)
    assert execution.state == "SUCCESS"
    [row] = state_rows(project)
    assert "super-secret-value" not in row[5]
    with sqlite3.connect(project.home / "state.db") as conn:
        messages = [m for (m,) in conn.execute("SELECT message FROM logs WHERE execution_id = ?", (execution.id,))]
        secret_flags = [s for (s,) in conn.execute("SELECT secret FROM task_states")]
    assert secret_flags == [1]
    assert any("token is ******" in m for m in messages), messages
    assert not any("super-secret-value" in m for m in messages)


def test_set_without_data_creates_the_state_unchanged(project: Project) -> None:
    execution = run(project, f"  - id: touch\n    type: {SET}\n  - id: read\n    type: {GET}\n    errorOnMissing: true\n")
    assert taskrun(execution, "touch").outputs["count"] == 0
    assert taskrun(execution, "read").outputs == {"count": 0, "data": {}}


def test_missing_state_with_error_on_missing_fails_the_task(project: Project) -> None:
    """Kestra's StateTest.getThrow and deleteThrow."""
    for task_type, task_id in ((GET, "read"), (DELETE, "drop")):
        execution = run(project, f"  - id: {task_id}\n    type: {task_type}\n    name: nope\n    errorOnMissing: true\n")
        failed = taskrun(execution, task_id)
        assert execution.state == "FAILED" and failed.state == "FAILED"
        assert "nope" in failed.error and "f_states_tasks-states_nope" in failed.error
    quiet = run(project, f"  - id: drop\n    type: {DELETE}\n    name: nope\n")
    assert taskrun(quiet, "drop").outputs == {"deleted": False}


def test_bad_properties_fail_validation_or_the_task(project: Project) -> None:
    project.flow(f"id: f\nnamespace: t\ntasks:\n  - id: put\n    type: {SET}\n    datas:\n      a: 1\n", "bad.yaml")
    result = project.cli("validate", "flows/bad.yaml")
    assert_clean(result, 3)
    assert "flows/bad.yaml:6:5: task `put`: unknown property 'datas'; did you mean 'data'?" in result.stderr
    project.flow(f"id: f\nnamespace: t\ntasks:\n  - id: put\n    type: {SET}\n    name: [a]\n", "list.yaml")
    result = project.cli("validate", "flows/list.yaml")
    assert_clean(result, 3)
    assert "flows/list.yaml:6" in result.stderr and "task `put`: name" in result.stderr, result.stderr
    execution = run(project, f"  - id: put\n    type: {SET}\n    data: \"not a map\"\n")
    assert "`data` must be a map" in taskrun(execution, "put").error
    execution = run(project, f"  - id: read\n    type: {GET}\n    namespace: maybe\n")
    assert "`namespace` must be true or false" in taskrun(execution, "read").error
