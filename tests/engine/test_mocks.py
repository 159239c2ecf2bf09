"""Mocked tasks: the task does not run; its task run ends in the mock's state with the mock's rendered outputs."""

from __future__ import annotations

from conftest import Project
from helpers import one, runs

from flowrun.engine.mocks import TaskMock, find_mock


def test_a_mock_for_every_value_and_one_for_a_value(project: Project) -> None:
    mocks = [TaskMock("fetch", outputs={"body": "any {{ taskrun.value }}"}),
             TaskMock("fetch", outputs={"body": "{{ files.x }}"}, value="b", variables={"files": {"x": "B!"}})]
    execution = project.run(project.flow_file("cli/mocked_loop.yaml"), mocks=mocks, trigger={"body": "hook"})
    assert execution.state == "SUCCESS"
    assert [tr.outputs for tr in runs(execution, "fetch")] == [{"body": "any a"}, {"body": "B!"}]
    assert one(execution, "after").outputs["value"] == "any a B! hook"
    assert all(tr.attempts == [] for tr in runs(execution, "fetch"))  # no attempt: the task never ran


def test_a_mocked_state_is_the_task_runs_state(project: Project) -> None:
    execution = project.run(project.flow_file("cli/mocked_loop.yaml"),
                            mocks=[TaskMock("fetch", state="FAILED", value="a"), TaskMock("fetch")])
    assert [tr.state for tr in runs(execution, "fetch")] == ["FAILED"]  # a sequential ForEach stops there
    assert execution.state == "FAILED" and not runs(execution, "after")


def test_find_mock_prefers_the_one_of_the_value() -> None:
    general, special = TaskMock("t"), TaskMock("t", value="x")
    assert find_mock([general, special], "t", "x") is special
    assert find_mock([general, special], "t", "y") is general and find_mock([special], "t", None) is None
