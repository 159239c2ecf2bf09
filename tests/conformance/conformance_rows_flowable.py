"""Conformance rows: the flowable tasks (If, Switch, Sequential, Parallel, ForEach, EachSequential, EachParallel,
Dag, AllowFailure, WorkingDirectory) and their local `errors` branches."""

from __future__ import annotations

from conformance_table import INVALID, KT, Contains, Row

F = KT + "plugin/core/flow/"
R = KT + "core/runners/"
SWITCH = {
    "FIRST": (2, "SUCCESS", False), "SECOND": (3, "SUCCESS", False), "THIRD": (4, "FAILED", False),
    "DEFAULT": (2, "SUCCESS", True),
}

ROWS: list[Row] = [
    Row("flowable/if-condition.yaml", F + "IfTest#ifTruthy", "SUCCESS", 2, {"#when-true": "SUCCESS"},
        inputs={"param": "true"}),
    Row("flowable/if-condition.yaml", F + "IfTest#ifFalsy", "SUCCESS", 2, {"#when-false": "SUCCESS"},
        inputs={"param": "false"}),
    Row("flowable/if-without-else.yaml", F + "IfTest#ifWithoutElse", "SUCCESS", 1, {"#if": "SUCCESS"},
        inputs={"param": "false"}),
    Row("flowable/if-without-else.yaml", F + "IfTest#ifWithoutElse (true)", "SUCCESS", 2, {"#if": "SUCCESS"},
        inputs={"param": "true"}),
    Row("flowable/disabled-children.yaml", F + "IfTest#ifWithOnlyDisabledTasks and ForEachTest#disabledTasks", "SUCCESS", 2,
        {"#if": "SUCCESS", "#each": "SUCCESS"}),
    *[Row("flowable/switch.yaml", F + f"SwitchTest#switch{value.title()}", state, count,
          {"parent-seq.value": value, "parent-seq.defaults": defaults}, inputs={"string": value})
      for value, (count, state, defaults) in SWITCH.items()],
    Row("flowable/switch-impossible.yaml", F + "SwitchTest#switchImpossible", "FAILED", 1,
        {"#impossible": "FAILED"}),
    Row("flowable/switch-scalar-keys.yaml", F + "ForEachTest#eachSwitch (scalar case keys)", "SUCCESS", 4,
        {"#matched": "SUCCESS"}),
    Row("flowable/sequential.yaml", F + "SequentialTest#sequential (a smaller flow)", "SUCCESS", 5, {"#last": "SUCCESS"}),
    Row("flowable/sequential-with-local-errors.yaml", F + "SequentialTest#sequentialWithLocalErrors", "FAILED", 6,
        {"error-t2.value": "Error Trigger ! error-t2", "#t2_seq": "FAILED"}),
    Row("flowable/parallel.yaml", F + "ParallelTest#parallel", "SUCCESS", 8),
    Row("flowable/parallel-fail-with-flowable.yaml", F + "ParallelTest#parallelFailWithFlowable", "FAILED", 5,
        {"#parallel": "FAILED", "#sleep": "SUCCESS"}),
    Row("flowable/errors-parallel.yaml", F + "ParallelTest#errors", "FAILED", 8,
        {"e1.value": "e1", "#ko": "FAILED", "#e2": "SUCCESS"}),
    Row("flowable/dag.yaml", F + "DagTest#dag", "SUCCESS", 7),
    Row("flowable/errors-dag.yaml", F + "DagTest#errors", "FAILED", 7, {"e1.value": "e1", "#dag": "FAILED"}),
    Row("validation/dag-cyclic-dependency.yaml", F + "DagTest#dagCyclicDependencies", "INVALID",
        error="cyclic"),
    Row("validation/dag-not-exist-task.yaml", F + "DagTest#dagNotExistTask", "INVALID", error="not-exist"),
    Row("flowable/foreach-non-concurrent.yaml", F + "ForEachTest#nonConcurrent", "SUCCESS", 7),
    Row("flowable/foreach-limit.yaml", F + "ForEachTest#concurrent (concurrencyLimit 2)", "SUCCESS", 5),
    Row("flowable/foreach-nested.yaml", F + "ForEachTest#nested", "SUCCESS", 16, {"test.value": "l2-d3"}),
    Row("flowable/each-empty.yaml", F + "ForEachTest#eachEmpty", "SUCCESS", 2, {"#1_each": "SUCCESS"}),
    Row("flowable/each-object-in-list.yaml", F + "ForEachTest#objectInList", "SUCCESS", 8),
    Row("flowable/foreach-iteration.yaml", F + "ForEachTest#iteration", "SUCCESS", 5),
    Row("flowable/current-output.yaml", F + "CurrentEachOutputFunctionTest#parallel", "SUCCESS", 32),
    Row("flowable/each-switch.yaml", F + "ForEachTest#eachSwitch", "SUCCESS", 12),
    Row("flowable/each-error.yaml", F + "ForEachTest#errors", "FAILED", 6, {"#e1": "SUCCESS", "#each": "FAILED"}),
    Row("flowable/each-sequential.yaml", F + "EachSequentialTest#sequential", "WARNING", 11,
        {"#1_each": "WARNING"}),
    Row("flowable/each-null.yaml", F + "EachSequentialTest#eachNull", "FAILED", 1),
    Row("flowable/each-parallel-nested.yaml", F + "EachParallelTest#parallelNested", "SUCCESS", 11),
    Row("flowable/allow-failure.yaml", F + "AllowFailureTest#success", "WARNING", 9,
        {"#1-1-allow-failure": "WARNING", "#ko": "FAILED", "local-error.value": "Error Trigger ! local-error"}),
    Row("flowable/allow-failure.yaml", F + "AllowFailureTest#failed", "FAILED", 10,
        {"#global-error": "SUCCESS", "#crash": "FAILED"}, inputs={"crash": "true"}),
    Row("flowable/allow-failure-flowable.yaml", R + "TaskWithAllowFailureTest#flowableTask (local errors)",
        "WARNING", 4, {"#block": "WARNING", "after.value": "after"}),
    Row("flowable/working-directory.yaml", F + "WorkingDirectoryTest#success", "SUCCESS", 4,
        {"#second": "SUCCESS"}, inputs={"failed": "false"}),
    Row("flowable/working-directory.yaml", F + "WorkingDirectoryTest#failed", "FAILED", 3,
        {"#error-t1": "SUCCESS"}, inputs={"failed": "true"}),
]

W = F + "WorkingDirectoryTest#"
ROWS += [
    Row("workdir/taskrun.yaml", W + "taskrun", "SUCCESS", 3, {"show-taskrun.value": "1"}),
    Row("workdir/taskrun-nested.yaml", W + "taskrunNested", "SUCCESS", 6,
        {"show-parent.value": Contains('{"taskrun":{"value":"1"}}')}),
    Row("workdir/each.yaml", W + "each", "SUCCESS", 8, {"end.value": Contains("kestra://", start=True)}),
    Row("workdir/invalid-runif.yaml", W + "invalidRunIf", "FAILED", 2,
        differs="flowrun refuses, before the run, a `runIf` that reads the outputs of a task the flow does not have "
                "(exit 3); Kestra runs the flow and fails that task"),
]

V = KT + "core/validations/"
ROWS += [
    Row("validation/switch-empty.yaml", V + "FlowValidationTest#switchTaskInvalid", INVALID,
        error="No task defined, neither cases or default have any tasks"),
    Row("validation/switch-empty-case.yaml", V + "FlowValidationTest#switchTaskInvalid (SwitchTaskValidator: an empty "
        "case)", INVALID, error="has no task"),
    Row("validation/workdir-flowable.yaml", V + "FlowValidationTest#workingDirectoryTaskInvalid", INVALID,
        error="Only runnable tasks are allowed as children of a WorkingDirectory task"),
    Row("validation/workdir-pause.yaml", V + "WorkingDirectoryTest#workingDirectoryInvalid (a Pause)", INVALID,
        error="Only runnable tasks are allowed as children of a WorkingDirectory task"),
    Row("validation/workdir-worker-group.yaml", V + "WorkingDirectoryTest#workingDirectoryInvalid (a worker group)",
        INVALID, error="Cannot set a Worker Group in any WorkingDirectory sub-tasks"),
]

ROWS += [
    Row("flowable/if-in-flowable.yaml", F + "IfTest#ifInFlowable", "SUCCESS", 8,
        {"after_if.value": "After if: value 2", "#after_if": "SUCCESS"}),
    Row("flowable/disable-flowable.yaml", R + "DisabledTest#flowable", "SUCCESS", 10),
    Row("flowable/disable-error.yaml", R + "DisabledTest#error", "FAILED", 3, {"#fourth": "SUCCESS"}),
]
