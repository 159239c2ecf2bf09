"""Kestra's log.Fetch in real flows: this execution's or another one's log lines, by level and task, as Ion."""

from __future__ import annotations

from typing import Any

from conftest import Project
from coretask_harness import CORE, assert_clean, local, run, taskrun

from flowrun.ion import read_values

FETCH, LOG = f"{CORE}.log.Fetch", f"{CORE}.log.Log"

NOISY = f"""\
  - id: quiet
    type: {LOG}
    level: DEBUG
    message: debug line
  - id: info
    type: {LOG}
    message: info line
  - id: warn
    type: {LOG}
    level: WARN
    message: [warn one, warn two]
  - id: error
    type: {LOG}
    level: ERROR
    message: error line
"""


def fetched(project: Project, execution: Any, task_id: str = "fetch") -> list[dict[str, Any]]:
    outputs = taskrun(execution, task_id).outputs
    entries = read_values(local(project, outputs["uri"]))
    assert outputs["size"] == len(entries)
    assert outputs["uri"].endswith(".ion")
    return entries


def test_fetch_this_execution_at_info_by_default(project: Project) -> None:
    execution = run(project, NOISY + f"  - id: fetch\n    type: {FETCH}\n")
    assert execution.state == "SUCCESS"
    entries = fetched(project, execution)
    assert [(e["taskId"], e["level"], e["message"]) for e in entries] == [
        ("info", "INFO", "info line"), ("warn", "WARN", "warn one"), ("warn", "WARN", "warn two"),
        ("error", "ERROR", "error line")]
    first = entries[0]
    assert first["namespace"] == "t.team" and first["flowId"] == "f" and first["executionId"] == execution.id
    assert first["taskRunId"] == taskrun(execution, "info").id and first["attemptNumber"] == 1
    assert first["deleted"] is False and first["timestamp"].year >= 2024


def test_fetch_by_level_and_tasks_in_their_order(project: Project) -> None:
    tasks = NOISY + f"""\
  - id: fetch
    type: {FETCH}
    level: WARN
    tasksId: [error, warn, info]
  - id: debug
    type: io.kestra.core.tasks.log.Fetch
    level: debug
    tasksId: ["{{{{ 'quiet' }}}}"]
"""
    execution = run(project, tasks)
    assert [e["message"] for e in fetched(project, execution)] == ["error line", "warn one", "warn two"]
    assert [e["message"] for e in fetched(project, execution, "debug")] == ["debug line"]


def test_fetch_another_execution_of_this_or_another_flow(project: Project) -> None:
    noisy = run(project, NOISY, flow_id="noisy")
    inputs = "  - id: target\n    type: STRING\n"
    same_flow = run(project, f"  - id: fetch\n    type: {FETCH}\n    level: ERROR\n"
                             f"    executionId: \"{{{{ inputs.target }}}}\"\n",
                    {"target": noisy.id}, flow_id="noisy", input_decl=inputs)
    assert [e["message"] for e in fetched(project, same_flow)] == ["error line"]
    other_flow = run(project, f"  - id: fetch\n    type: {FETCH}\n    executionId: \"{{{{ inputs.target }}}}\"\n"
                              "    namespace: t.team\n    flowId: noisy\n    tasksId: [warn]\n",
                     {"target": noisy.id}, flow_id="reader", input_decl=inputs)
    assert [e["executionId"] for e in fetched(project, other_flow)] == [noisy.id, noisy.id]
    wrong_flow = run(project, f"  - id: fetch\n    type: {FETCH}\n    executionId: \"{{{{ inputs.target }}}}\"\n",
                     {"target": noisy.id}, flow_id="reader", input_decl=inputs)
    assert fetched(project, wrong_flow) == []
    assert wrong_flow.state == "SUCCESS"


def test_fetch_rejects_flow_filters_without_execution_and_bad_levels(project: Project) -> None:
    execution = run(project, f"  - id: fetch\n    type: {FETCH}\n    namespace: t.team\n    flowId: f\n")
    assert execution.state == "FAILED"
    assert "`namespace` and `flowId` can only be set with `executionId`" in taskrun(execution, "fetch").error
    execution = run(project, f"  - id: fetch\n    type: {FETCH}\n    executionId: x\n    flowId: f\n")
    assert "set both `namespace` and `flowId`" in taskrun(execution, "fetch").error
    execution = run(project, f"  - id: fetch\n    type: {FETCH}\n    level: LOUD\n")
    assert "`level` must be one of TRACE, DEBUG, INFO, WARN, ERROR" in taskrun(execution, "fetch").error


def test_validate_rejects_unknown_fetch_properties(project: Project) -> None:
    project.flow(f"id: f\nnamespace: t\ntasks:\n  - id: fetch\n    type: {FETCH}\n    taskIds: [a]\n", "bad.yaml")
    result = project.cli("validate", "flows/bad.yaml")
    assert_clean(result, 3)
    assert "flows/bad.yaml:6:5: task `fetch`: unknown property 'taskIds'; did you mean 'tasksId'?" in result.stderr
