"""Branching flowables (If, Switch, Sequential, Parallel, Dag, WorkingDirectory) run as Kestra runs them: final
state, task-run count and outputs, each sourced from Kestra. The flows are in tests/flows/flowables/."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ids, max_overlap, one

from flowrun.tasks.registry import task_class


# -- If ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("param", "branch", "result"), [
    ("true", "when-true", True), ("1", "when-true", True),
    ("false", "when-false", False), ("0", "when-false", False), ("-0", "when-false", False),
])
def test_if_then_else(project: Any, param: str, branch: str, result: bool) -> None:
    # Source: IfTest.ifTruthy / IfTest.ifFalsy (test/java/io/kestra/plugin/core/flow/IfTest.java,
    # flows/valids/if-condition.yaml): 2 task runs, the chosen branch SUCCESS, execution SUCCESS.
    ex = project.run(project.flow_file("flowables/if-condition.yaml"), {"param": param})
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if", branch]
    assert one(ex, branch).state == "SUCCESS"
    assert one(ex, "if").outputs == {"evaluationResult": result}


def test_if_without_else_false_is_success(project: Any) -> None:
    # Source: IfTest.ifWithoutElse (flows/valids/if-without-else.yaml): false and no else -> 1 task run, SUCCESS.
    ex = project.run(project.flow_file("flowables/if-without-else.yaml"), {"param": "false"})
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if"]
    assert one(ex, "if").state == "SUCCESS"
    ex = project.run(project.flow_file("flowables/if-without-else.yaml"), {"param": "true"})
    assert (ex.state, ids(ex)) == ("SUCCESS", ["if", "when-true"])


# -- Switch -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected_ids", "defaults", "state"), [
    ("FIRST", ["parent-seq", "t1"], False, "SUCCESS"),
    ("SECOND", ["parent-seq", "t2", "t2_sub"], False, "SUCCESS"),
    ("THIRD", ["parent-seq", "t3", "failed", "error-t1"], False, "FAILED"),
    ("DEFAULT", ["parent-seq", "default"], True, "SUCCESS"),
])
def test_switch_cases_and_defaults(project: Any, value: str, expected_ids: list[str], defaults: bool,
                                   state: str) -> None:
    # Source: SwitchTest.switchFirst/Second/Third/Default (flows/valids/switch.yaml): the task-run order,
    # outputs `value` and `defaults`; THIRD fails inside a Sequential whose local errors branch runs.
    ex = project.run(project.flow_file("flowables/switch.yaml"), {"string": value})
    assert ids(ex) == expected_ids
    assert one(ex, "parent-seq").outputs == {"value": value, "defaults": defaults}
    assert ex.state == state
    assert one(ex, "parent-seq").state == state


def test_switch_without_match_or_defaults_fails(project: Any) -> None:
    # Source: SwitchTest.switchImpossible (flows/valids/switch-impossible.yaml): no case, `defaults: null` ->
    # execution FAILED; kestra-dialect.md §4 ("No task found").
    ex = project.run(project.flow_file("flowables/switch-impossible.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["impossible"]
    assert one(ex, "impossible").state == "FAILED"


def test_switch_cases_with_unquoted_scalar_keys(project: Any) -> None:
    # Once a difference from Kestra (now fixed). Source: flows/valids/each-switch.yaml (ForEachTest.eachSwitch)
    # writes its inner cases as bare `1:` / `2:`; Switch.cases is a Map<String, List<Task>> in Kestra, so the
    # keys are strings.
    ex = project.run(project.flow_file("flowables/switch-scalar-keys.yaml"))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["number", "two", "flag", "matched"]


# -- Sequential -------------------------------------------------------------------------------------------
def test_sequential_nested(project: Any) -> None:
    # Source: kestra.io docs, Sequential example (developer-guide/flowable): groups run in order, then `last`.
    ex = project.run(project.flow_file("flowables/sequential.yaml"))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["sequential", "1st", "inner", "2nd", "last"]
    assert one(ex, "last").outputs["value"] == "1st-2nd"
    assert one(ex, "2nd").parent_id == one(ex, "inner").id
    assert one(ex, "inner").parent_id == one(ex, "sequential").id


# -- Parallel ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("concurrent", "peak"), [(None, 6), (0, 6), (2, 2)])
def test_parallel_concurrent(project: Any, concurrent: int | None, peak: int) -> None:
    # Source: ParallelTest.parallel (flows/valids/parallel.yaml: 6 children + `last` -> 8 task runs) and
    # the Parallel plugin doc (`concurrent`: 0 = all at once, else at most that many running). None: the flow
    # does not set `concurrent`.
    if concurrent is None:
        path = project.flow_file("flowables/parallel.yaml")
    else:
        path = project.flow_file("flowables/parallel-concurrent.yaml", concurrent=concurrent)
    ex = project.run(path, max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 8
    children = [tr for tr in ex.task_runs if tr.task_id.startswith("t")]
    assert max_overlap(children) == peak
    last = one(ex, "last")
    assert all(last.start_date >= tr.end_date for tr in children)
    assert last.outputs == {"value": "last"}


# -- Dag --------------------------------------------------------------------------------------------------
def test_dag_ordering(project: Any) -> None:
    # Source: DagTest.dag (flows/valids/dag.yaml): 6 tasks + the Dag -> 7 task runs, SUCCESS; Dag doc: a task
    # starts once every task it dependsOn has ended; independent ones (task2/task3) run side by side.
    ex = project.run(project.flow_file("flowables/dag.yaml"), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 7
    edges = {"task2": ["task1"], "task3": ["task1"], "task4": ["task2"], "task5": ["task4", "task3"],
             "task6": ["task2", "task3"]}
    for task, deps in edges.items():
        for dep in deps:
            assert one(ex, task).start_date >= one(ex, dep).end_date, f"{task} started before {dep} ended"
    assert one(ex, "task3").start_date < one(ex, "task2").end_date  # siblings overlap
    assert one(ex, "task5").outputs == {"value": "task5"}
    dag = one(ex, "dag")
    assert all(tr.parent_id == dag.id for tr in ex.task_runs if tr is not dag)


@pytest.mark.parametrize(("source", "words"), [
    ("dag-cyclic-dependency.yaml", ["cycle", "task1", "task2"]),  # task1 -> task2 -> task1
    ("dag-not-exist-task.yaml", ["taskX"]),  # task2 depends on an unknown taskX
])
def test_dag_invalid_graph_is_a_validation_error(project: Any, source: str, words: list[str]) -> None:
    # Source: DagTest.dagCyclicDependencies / dagNotExistTask (flows/invalids/dag-cyclicdependency.yaml,
    # dag-notexist-task.yaml): one violation naming the cycle (task1, task2) / the unknown id (taskX);
    # for flowrun that is an invalid flow: `flowrun validate` exits 3.
    result = project.cli("validate", str(project.flow_file(f"flowables/{source}")))
    assert result.code == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    for word in words:
        assert word in output, output


# -- WorkingDirectory -------------------------------------------------------------------------------------
def _working_directory_flow(project: Any) -> Any:
    # script tasks are registered, so two shell tasks share the directory as in Kestra's flow (a missing
    # shell.Commands fails this test loudly rather than skipping it)
    task_class("io.kestra.plugin.scripts.shell.Commands")
    return project.flow_file("flowables/working-directory.yaml")


def test_working_directory_shares_files(project: Any) -> None:
    # Source: WorkingDirectoryTest.success (flows/valids/working-directory.yaml): the second task sees the file
    # the first wrote; disabled task skipped -> 4 task runs, SUCCESS, 2_end's value is a kestra:// URI.
    ex = project.run(_working_directory_flow(project), {"failed": "false"})
    assert ex.state == "SUCCESS", [(tr.task_id, tr.state) for tr in ex.task_runs]
    assert ids(ex) == ["worker", "first", "second", "2_end"]
    assert one(ex, "second").state == "SUCCESS"
    assert one(ex, "2_end").outputs["value"].startswith("kestra://")
    assert list(one(ex, "worker").outputs["outputFiles"]) == ["out/stay.txt"]


def test_working_directory_output_files_skip_symlinks_with_a_warning(project: Any, tmp_path: Any) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not for upload")
    task_class("io.kestra.plugin.scripts.shell.Commands")
    ex = project.run(project.flow_file("flowables/working-directory-symlinks.yaml", outside=outside))
    assert ex.state == "SUCCESS", [(tr.task_id, tr.state) for tr in ex.task_runs]
    assert list(one(ex, "worker").outputs["outputFiles"]) == ["real.txt"]
    from flowrun.app.inspect import execution_logs

    logs = execution_logs(str(project.home), ex.id, "worker")
    assert [(x["level"], x["message"]) for x in logs] == [
        ("WARN", "outputFiles: pattern `*.txt` matches `link.txt`, a symlink; symlinks are not uploaded")]


def test_working_directory_failure_runs_errors(project: Any) -> None:
    # Source: WorkingDirectoryTest.failed (same flow, failed=true): 3 task runs (worker, first, error-t1), FAILED.
    ex = project.run(_working_directory_flow(project), {"failed": "true"})
    assert ex.state == "FAILED"
    assert ids(ex) == ["worker", "first", "error-t1"]
    assert (one(ex, "worker").state, one(ex, "first").state) == ("FAILED", "FAILED")
    assert one(ex, "error-t1").state == "SUCCESS"


# -- edge cases -------------------------------------------------------------------------------------------
def test_flowables_with_only_disabled_children(project: Any) -> None:
    # Source: IfTest.ifWithOnlyDisabledTasks and ForEachTest.disabledTasks (if-with-only-disabled-tasks.yaml,
    # foreach-disabled-tasks.yaml): 1 task run each, SUCCESS.
    ex = project.run(project.flow_file("flowables/disabled-children.yaml"))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if", "each"]
    assert (one(ex, "if").state, one(ex, "each").state) == ("SUCCESS", "SUCCESS")
