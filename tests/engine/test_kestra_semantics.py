"""Semantics that once differed from Kestra 1.x's own tests: errors/finally task-run counts, runIf and values in
nested flowables, WorkingDirectory children, Subflow outputs, definitions and inputs Kestra refuses, flow ids.
Each test names the Kestra test it follows; the flows are in tests/flows/conformance/ (the conformance table runs
them too)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ids, one

from flowrun.errors import ExitCode, FlowrunError


def _run(project: Any, source: str, inputs: dict[str, Any] | None = None, *more: str) -> Any:
    for index, other in enumerate(more):
        project.flow_file(f"conformance/{other}", f"more-{index}.yaml")
    return project.run(project.flow_file(f"conformance/{source}", "flow.yaml"), inputs)


@pytest.mark.parametrize(("source", "failed", "state", "count"), [
    ("errors/finally-sequential-errors.yaml", False, "SUCCESS", 5),   # FinallyTest#sequentialErrorBlockWithoutErrors
    ("errors/finally-sequential-errors.yaml", True, "FAILED", 7),     # FinallyTest#sequentialErrorBlockWithErrors
    ("errors/finally-dag.yaml", True, "FAILED", 9),                   # FinallyTest#dagWithErrors
    ("errors/finally-allowfailure.yaml", True, "WARNING", 7),         # FinallyTest#allowFailureWithErrors
    ("errors/finally-flow-errors.yaml", True, "FAILED", 6),           # FinallyTest#flowErrorBlockWithErrors
])
def test_errors_and_finally_branches_add_their_task_runs(project: Any, source: str, failed: bool, state: str,
                                                        count: int) -> None:
    ex = _run(project, source, {"failed": failed})
    assert (ex.state, len(ex.task_runs)) == (state, count), ids(ex)
    assert one(ex, "a2").state == "SUCCESS" and one(ex, "a2").start_date >= one(ex, "a1").end_date


def test_a_flowable_finally_runs_after_its_errors_in_its_scope(project: Any) -> None:
    ex = _run(project, "errors/finally-sequential-errors.yaml", {"failed": True})
    assert ids(ex) == ["group", "if", "ko", "e1", "e2", "a1", "a2"]
    assert one(ex, "a1").parent_id == one(ex, "group").id


def test_children_of_a_loop_keep_its_value_and_see_their_parents(project: Any) -> None:
    # WorkingDirectoryTest#taskrunNested: 6 task runs; `parent` of a WorkingDirectory child is the
    # WorkingDirectory's own task run, found by the loop value three levels down
    ex = _run(project, "workdir/taskrun-nested.yaml")
    assert ex.state == "SUCCESS" and len(ex.task_runs) == 6
    assert {tr.value for tr in ex.task_runs if tr.task_id != "each"} == {"1"}
    assert one(ex, "show-parent").outputs["value"] == '{"taskrun":{"value":"1"}}'
    assert '"value":"1"' in one(ex, "show-taskrun").outputs["value"]


def test_run_if_inside_a_working_directory(project: Any) -> None:
    # TaskWithRunIfTest#runIfWorkingDirectory: SUCCESS, 3 task runs, the false one SKIPPED
    ex = _run(project, "basics/runif-workdir.yaml")
    assert ex.state == "SUCCESS" and len(ex.task_runs) == 3
    assert (one(ex, "log_alpha").state, one(ex, "log_other").state) == ("SUCCESS", "SKIPPED")


def test_a_failed_subflow_passes_its_outputs_and_bad_outputs_fail_the_parent(project: Any) -> None:
    # FlowCaseTest#waitFailed: the failed child's outputs reach the parent; FlowCaseTest#invalidOutputs: outputs
    # the child cannot render fail the Subflow task run
    failed = _run(project, "subflow/task-flow.yaml", {"string": "THIRD"}, "subflow/switch-child.yaml")
    launch = one(failed, "launch")
    assert (failed.state, launch.outputs["state"]) == ("FAILED", "FAILED")
    assert launch.outputs["outputs"] == {"extracted": "Error Trigger ! error-t1"}
    invalid = _run(project, "subflow/task-flow.yaml", {"string": "FIRST"}, "subflow/switch-child.yaml")
    assert invalid.state == "FAILED" and one(invalid, "launch").state == "FAILED"
    # FlowCaseTest#run: the Subflow task run has one attempt, in the task run's own state
    assert [a.state for a in one(invalid, "launch").attempts] == ["FAILED"]
    assert [a.state for a in one(failed, "launch").attempts] == ["FAILED"]


@pytest.mark.parametrize(("source", "message"), [
    ("validation/switch-empty.yaml", "No task defined, neither cases or default have any tasks"),  # SwitchTaskValidator
    ("validation/workdir-flowable.yaml", "Only runnable tasks are allowed as children of a WorkingDirectory task"),
])
def test_definitions_kestra_refuses(project: Any, source: str, message: str) -> None:
    result = project.cli("validate", str(project.flow_file(f"conformance/{source}")))
    assert result.code == 3 and message in result.stderr, result.stderr


def test_pause_is_a_valid_flow_id(project: Any) -> None:
    # Kestra's own test flow valids/pause.yaml is `id: pause` (ResumeTest#resume); 1.x reserves no flow id
    ex = _run(project, "execution/pause-target.yaml")
    assert ex.flow_id == "pause" and ex.state == "PAUSED"


@pytest.mark.parametrize(("name", "value"), [
    ("validatedInt", "21"), ("validatedDate", "2022-01-01"), ("enum", "INVALID"), ("array", '["s1"]'),
    ("uri", "http:/bla"), ("validatedDuration", "PT1S"),
])
def test_inputs_kestra_refuses_when_the_execution_is_created(project: Any, name: str, value: str) -> None:
    # InputsTest#inputValidated*BadValue, #inputEnumFailed, #inputArrayFailed, #inputFailed: nothing runs
    with pytest.raises(FlowrunError) as info:
        _run(project, "inputs/validated.yaml", {name: value})
    assert info.value.exit_code == ExitCode.INVALID and name in str(info.value)


def test_retry_takes_both_spellings_of_max_attempts(project: Any) -> None:
    # TaskWithAllowWarningTest#runnableTask (maxAttempts) and TaskWithAllowFailureTest#runnableTask (maxAttempt)
    warned = _run(project, "basics/allow-warning-runnable.yaml")
    failed = _run(project, "basics/allow-failure-runnable.yaml")
    assert (warned.state, len(one(warned, "boom").attempts)) == ("SUCCESS", 3)
    assert (failed.state, len(one(failed, "boom").attempts)) == ("WARNING", 3)
