"""Conformance rows: task properties (runIf, disabled, allowFailure, allowWarning, timeout, retry), the simple
core tasks, variables, flow outputs, errors/finally/afterExecution."""

from __future__ import annotations

from conformance_table import KT, Row

R = KT + "core/runners/"
P = KT + "plugin/core/"

ROWS: list[Row] = [
    Row("basics/runif.yaml", R + "TaskWithRunIfTest#runnableTask", "FAILED", 5,
        {"#runs": "SUCCESS", "#skipped": "SKIPPED", "#skipped_flowable": "SKIPPED", "#fails": "FAILED"}),
    Row("basics/runif-workdir.yaml", R + "TaskWithRunIfTest#runIfWorkingDirectory", "SUCCESS", 3,
        {"#log_alpha": "SUCCESS", "#log_other": "SKIPPED"}),
    Row("basics/fail-on-switch.yaml", P + "execution/FailTest#failOnSwitch", "FAILED", 1,
        {"#sw": "FAILED"}, inputs={"param": "fail"}),
    Row("basics/fail-on-condition.yaml", P + "execution/FailTest#failOnCondition", "FAILED", 2,
        {"#fail": "FAILED"}, inputs={"param": "fail"}),
    Row("basics/fail-on-condition.yaml", P + "execution/FailTest#dontFailOnCondition", "SUCCESS", 3,
        {"#fail": "SUCCESS"}, inputs={"param": "success"}),
    Row("basics/return.yaml", P + "log/LogTest#shouldLogNonStringMessageListElementsInsteadOfCrashing", "SUCCESS",
        3, {"ret.value": "io.kestra.tests/return", "#log": "SUCCESS"}),
    Row("basics/labels-map.yaml", P + "flow/RuntimeLabelsTest#shouldUpdateWithNestedValueInMap", "SUCCESS", 1,
        {"!stage": '{"name":"done"}'}),
    Row("basics/labels-list.yaml", P + "flow/RuntimeLabelsTest#shouldUpdateWithNestedValueInList", "SUCCESS", 1,
        {"!stage": '{"name":"done"}'}),
    Row("basics/retry.yaml", P + "flow/RetryCaseTest#retryFail", "FAILED", 2, {"^always_fails": 3}),
    Row("basics/retry-expo.yaml", P + "flow/RetryCaseTest#retryExpo", "FAILED", 1, {"^always_fails": 3}),
    Row("basics/retry-random.yaml", P + "flow/RetryCaseTest#retryRandom", "FAILED", 1, {"^always_fails": 3}),
    Row("basics/sleep.yaml", P + "flow/SleepTest#sleepTaskTest", "SUCCESS", 2, {"after.value": "awake"}),
    Row("basics/disabled.yaml", R + "DisabledTest#simple (a disabled task gets no task run)", "SUCCESS", 3,
        {"on.value": "on", "on_inner.value": "inner"}),
    Row("basics/allow-failure-runnable.yaml", R + "TaskWithAllowFailureTest#runnableTask", "WARNING", 2,
        {"^boom": 3, "#carry_on": "SUCCESS"}),
    Row("basics/allow-failure-flowable.yaml", R + "TaskWithAllowFailureTest#flowableTask", "WARNING", 3,
        {"#boom": "FAILED"}),
    Row("basics/allow-warning-runnable.yaml", R + "TaskWithAllowWarningTest#runnableTask", "SUCCESS", 2,
        {"^boom": 3}),
    Row("basics/allow-warning-flowable.yaml", R + "TaskWithAllowWarningTest#flowableTask", "SUCCESS", 3),
    Row("basics/timeout.yaml", P + "flow/TimeoutTest#timeout", "FAILED", 1, {"#slow": "FAILED"}),
    Row("basics/variables.yaml", P + "flow/VariablesTest#recursiveVars", "SUCCESS", 1,
        {"var.value": "1 > 2 > 3"}),
    Row("basics/failed-first.yaml", P + "flow/VariablesTest#failedFirst", "FAILED", 1, {"#first": "FAILED"}),
    Row("basics/empty-variables.yaml", R + "EmptyVariablesTest#emptyVariables", "SUCCESS", 3,
        {"key.value": "", "sub.value": "{}"},
        inputs={"emptyKey": '{ "foo": "" }', "emptySubObject": '{"json":{"someEmptyObject":{}}}'}),
    Row("basics/null-output.yaml", R + "NullOutputTest#shouldIncludeNullOutput", "SUCCESS", 1,
        {"nothing": {"value": ""}}),
    Row("basics/flow-outputs.yaml", P + "flow/FlowOutputTest#shouldGetSuccessExecutionForFlowWithOutputs",
        "SUCCESS", 1, {"@key": "flow-outputs"}),
    Row("basics/flow-outputs-bad.yaml", P + "flow/FlowOutputTest#shouldGetFailExecutionForFlowWithInvalidOutputs",
        "FAILED", 1),
    Row("basics/after-execution.yaml", R + "AfterExecutionTestCase#shouldCallTasksAfterExecution", "SUCCESS", 2,
        {"end.values": {"state": "SUCCESS", "output": "this is a task output used as a final flow output"}}),
    Row("basics/after-finally.yaml", R + "AfterExecutionTestCase#shouldCallTasksAfterFinally", "SUCCESS", 3,
        {"#always": "SUCCESS", "end.values": {"state": "SUCCESS"}}),
    Row("basics/after-finally.yaml", R + "AfterExecutionTestCase#shouldCallTasksAfterError", "FAILED", 4,
        {"#on_error": "SUCCESS", "end.values": {"state": "FAILED"}}, inputs={"failed": True}),
]
