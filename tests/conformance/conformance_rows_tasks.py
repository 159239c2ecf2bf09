"""Conformance rows: Subflow, the execution tasks (Exit, Count, Resume), loops (LoopUntil, WaitFor), Pause,
ForEachItem, Template and TemplatedTask."""

from __future__ import annotations

from conformance_table import KT, Contains, Row

F = KT + "plugin/core/flow/"
R = KT + "core/runners/"
E = KT + "plugin/core/execution/"
CHILD = ("subflow/switch-child.yaml",)

ROWS: list[Row] = [
    Row("subflow/task-flow.yaml", R + "AbstractRunnerTest#flowWaitSuccess (FlowCaseTest#waitSuccess)", "SUCCESS", 1,
        {"launch.outputs.extracted": "default > amazing", "launch.state": "SUCCESS"},
        inputs={"string": "OK"}, also=CHILD),
    Row("subflow/task-flow.yaml", R + "AbstractRunnerTest#flowWaitFailed (FlowCaseTest#waitFailed)", "FAILED", 1,
        {"launch.outputs.extracted": "Error Trigger ! error-t1", "launch.state": "FAILED"},
        inputs={"string": "THIRD"}, also=CHILD),
    Row("subflow/task-flow.yaml", R + "AbstractRunnerTest#invalidOutputs (FlowCaseTest#invalidOutputs)", "FAILED", 1,
        {"#launch": "FAILED"}, inputs={"string": "FIRST"}, also=CHILD),
    Row("subflow/task-flow.yaml", R + "AbstractRunnerTest#flowWaitSuccess (FlowCaseTest#run: one attempt)", "SUCCESS",
        1, {"^launch": 1}, inputs={"string": "OK"}, also=CHILD),
]

P = F + "PauseTest#"
L = F + "LoopUntilCaseTest#"
ITEMS = {"items.txt": "".join(f"{i:>20}\n" for i in range(10))}  # ForEachItemCaseTest's ten padded rows
FEI = ("foreach_item/child.yaml",)
ROWS += [
    Row("pause/delay.yaml", P + "runDelay", "SUCCESS", 2, {"#pause": "SUCCESS"}),
    Row("pause/delay-subtasks.yaml", R + "AbstractRunnerTest#pauseRunDelay (the deprecated tasks run after it)",
        "SUCCESS", 3, {"#inside": "SUCCESS"}),
    Row("pause/timeout-false.yaml", P + "runTimeout", "FAILED", 1, {"#pause": "FAILED"}),
    Row("pause/timeout-true.yaml", P + "runTimeoutAllowFailure", "WARNING", 2, {"#pause": "WARNING"}),
    Row("pause/behavior.yaml", P + "runDurationWithCONTINUEBehavior", "SUCCESS", None, {"#pause": "SUCCESS"},
        inputs={"behavior": "RESUME"}),
    Row("pause/behavior.yaml", P + "runDurationWithWARNBehavior", "WARNING", None, {"#pause": "WARNING"},
        inputs={"behavior": "WARN"}),
    Row("pause/behavior.yaml", P + "runDurationWithFAILBehavior", "FAILED", None, {"#pause": "FAILED"},
        inputs={"behavior": "FAIL"}),
    Row("pause/behavior.yaml", P + "runDurationWithCANCELBehavior", "CANCELLED", None, {"#pause": "CANCELLED"},
        inputs={"behavior": "CANCEL"}),
    Row("pause/on-pause.yaml", P + "shouldExecuteOnPauseTask", "SUCCESS", 2, {"#hello": "SUCCESS"}),
    Row("pause/errors-finally.yaml", P + "shouldExecuteErrorsFinallyAndAfterExecution", "FAILED", 4,
        {"#pause": "FAILED", "#on_error": "SUCCESS", "#on_finally": "SUCCESS", "#after_all": "SUCCESS"}),
    Row("pause/foreach-concurrent.yaml", P + "runParallelDelay", "SUCCESS", 4),
    Row("pause/long.yaml", P + "run (the execution waits PAUSED)", "PAUSED", 1, {"#pause": "PAUSED"}),
    # Kestra keeps the last iteration's task runs, flowrun every iteration's (README): counts are not compared
    Row("loops/waitfor.yaml", L + "waitforMultipleTasks", "SUCCESS", None, {"loop.iterationCount": 3}),
    Row("loops/loopuntil.yaml", L + "waitforMultipleTasks (LoopUntil)", "SUCCESS", None, {"loop.iterationCount": 3}),
    Row("loops/waitfor-at-once.yaml", L + "waitfor", "SUCCESS", None, {"loop.iterationCount": 1}),
    Row("loops/waitfor-max-fail.yaml", L + "waitforMaxIterations", "FAILED", None, {"loop.iterationCount": 3}),
    Row("loops/loopuntil-max.yaml", L + "waitforNoSuccess", "SUCCESS", None, {"loop.iterationCount": 5}),
    Row("loops/waitfor-failing.yaml", L + "waitforMultipleTasksFailed", "FAILED", None,
        {"loop.iterationCount": 1, "^fail": 1, "#on_error": "SUCCESS"}),
    Row("foreach_item/parent.yaml", F + "ForEachItemCaseTest#forEachItem", "SUCCESS", 4,
        {"each_items.numberOfBatches": 3, "each_items.iterations": {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}},
        inputs={"file": "items.txt"}, files=ITEMS, also=FEI),
    Row("foreach_item/parent.yaml", F + "ForEachItemCaseTest#forEachItemEmptyItems", "SUCCESS", 4,
        {"each_items": {}}, inputs={"file": "empty.txt"}, files={"empty.txt": ""}, also=FEI),
    Row("foreach_item/parent-allow-failure.yaml", R + "TaskWithAllowFailureTest#executableTask_ForEachItem",
        "WARNING", 4, inputs={"file": "items.txt"}, files=ITEMS, also=("foreach_item/child-failing.yaml",)),
    Row("templates/with-template.yaml", F + "TemplateTest#withTemplate", "SUCCESS", 4,
        {"hello.value": "hello world", "last.value": "hello world"}, templates=("templates/greeting.yaml",)),
    Row("templates/templated-task.yaml", KT + "plugin/core/templating/TemplatedTaskTest#templatedType", "SUCCESS", 2,
        {"after.value": "rendered for templated-task"}),
    Row("execution/exit.yaml", E + "ExitTest#shouldExitTheExecution", "WARNING", 2, {"#if": "WARNING"}),
    Row("execution/exit.yaml", E + "ExitTest#shouldExitAndKillTheExecution", "KILLED", 2,
        {"#if": "KILLED", "#exit": "KILLED"}, inputs={"state": "KILLED"}),
    Row("execution/count.yaml", E + "CountTest#run", "SUCCESS", 1, {"counts.total": 0, "counts.results": [
        {"namespace": "io.kestra.tests", "flowId": "nothing-ran", "count": 0}]}),
    Row("execution/resume.yaml", E + "ResumeTest#resume", "SUCCESS", 1, {"#resume": "SUCCESS"},
        also=("execution/pause-target.yaml",), before=(0,)),
    Row("execution/pause-target.yaml", F + "PauseTest#run (a flow may be called `pause`)", "PAUSED", 1,
        {"#pause": "PAUSED"}),
    Row("execution/toggle.yaml", KT + "plugin/core/trigger/ToggleTest#toggle", "SUCCESS", 1),
    Row("execution/purge.yaml", E + "PurgeExecutionsTest#run", "SUCCESS", 4, {"executions.executionsCount": 1},
        also=("execution/purge-target.yaml",), before=(0,)),
    Row("execution/purge.yaml", KT + "plugin/core/log/PurgeLogsTest#run", "SUCCESS", 4, {"#logs": "SUCCESS"},
        also=("execution/purge-target.yaml",), before=(0,)),
    Row("execution/purge.yaml", KT + "plugin/core/kv/PurgeKVTest#should_find_all_namespaces (then purged)", "SUCCESS",
        4, {"gone.value": "gone"}, also=("execution/purge-target.yaml",), before=(0,)),
    Row("checks/assert.yaml", E + "AssertTest#success", "SUCCESS", 2, {"#after": "SUCCESS"}, inputs={"param": "ok"}),
    Row("checks/assert.yaml", E + "AssertTest#failed", "FAILED", 1, {"#check": "FAILED"}, inputs={"param": "ko"}),
    Row("checks/write.yaml", KT + "plugin/core/storage/WriteTest#run", "SUCCESS", 2,
        {"write.uri": Contains(".txt"), "read.value": "Hello write"}),
    Row("checks/publish.yaml", KT + "plugin/core/metric/PublishTest#run", "SUCCESS", 1, {"#metrics": "SUCCESS"}),
    Row("checks/set-variables-kestra.yaml", E + "SetVariablesTest#shouldUpdateExecution", "SUCCESS", 2,
        {"hello.values": {"message": "Hello Loïc"}}),
    Row("checks/set-variables-duplicate.yaml", E + "SetVariablesTest#shouldFailWhenExistingVariable", "FAILED", 1,
        {"#set_vars": "FAILED"}),
    Row("checks/runif-executionupdating.yaml", R + "TaskWithRunIfTest#executionUpdatingTask", "SUCCESS", 6,
        {"#skipSetVariables": "SKIPPED", "#skipUnsetVariables": "SKIPPED", "#unsetVariables": "SUCCESS",
         "#setVariables": "SUCCESS", "show.value": "[42]"}),
]
