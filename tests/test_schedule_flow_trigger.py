"""Flow triggers: a chain of flows started when upstream executions end, with conditions and preconditions."""

from __future__ import annotations

import inspect

from conftest import Project
from test_schedule_support import covers, executions, in_project

from flowrun import api
from flowrun.schedule.flow_trigger import on_execution_end

C = "io.kestra.plugin.core.condition."


def _flow(project: Project, flow_id: str, tasks: str, triggers: str = "", extra: str = "") -> None:
    text = f"id: {flow_id}\nnamespace: chain\n{extra}tasks:\n{tasks}"
    if triggers:
        text += f"triggers:\n{triggers}"
    (project.root / "flows" / f"{flow_id}.yaml").write_text(text, encoding="utf-8")


RETURN = "  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: '{{ trigger.executionId ?? \"none\" }}'\n"


def _wired() -> bool:
    """Whether api.run_prepared already calls on_execution_end (the lead wires it)."""
    return "on_execution_end" in inspect.getsource(api)


def _run_chain(project: Project, flow_id: str) -> list[dict]:
    """Run a flow; fire Flow triggers by hand along the chain when api does not do it yet."""
    with in_project(project):
        execution = api.run_flow(f"flows/{flow_id}.yaml", api.RunOptions(home=str(project.home)))
        if _wired():
            return []
        fired, queue = [], [execution]
        while queue:
            ended = queue.pop(0)
            for item in on_execution_end(api.open_project(str(project.home), project.root), ended):
                fired.append(item)
                child = next(e for e in executions(project) if e["id"] == item["executionId"])
                queue.append(type("E", (), {"id": child["id"], "namespace": child["namespace"],
                                            "flow_id": child["flow_id"], "state": child["state"],
                                            "labels": list(child["labels"].items()), "outputs": {}})())
        return fired


@covers("Flow", "ExecutionFlow", "ExecutionStatus", "ExecutionNamespace", "ExecutionLabels")
def test_a_flow_trigger_chain(project: Project) -> None:
    _flow(project, "a", RETURN, extra="labels:\n  env: prod\n")
    _flow(project, "b", RETURN, f"""  - id: after_a
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      upstream: "{{{{ trigger.executionId }}}}"
    conditions:
      - type: {C}ExecutionFlow
        namespace: chain
        flowId: a
      - type: {C}ExecutionStatus
        in: [SUCCESS]
      - type: {C}ExecutionLabels
        labels:
          env: prod
""", extra="inputs:\n  - id: upstream\n    type: STRING\n")
    _flow(project, "c", RETURN, f"""  - id: after_b
    type: io.kestra.plugin.core.trigger.Flow
    states: [SUCCESS]
    conditions:
      - type: {C}ExecutionNamespace
        namespace: cha
        comparison: PREFIX
      - type: {C}ExecutionFlow
        namespace: chain
        flowId: b
""")
    _flow(project, "never", RETURN, f"""  - id: on_failure
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: {C}ExecutionStatus
        in: [FAILED]
""")
    _run_chain(project, "a")
    runs = {e["flow_id"]: e for e in executions(project)}
    assert set(runs) == {"a", "b", "c"}
    assert runs["b"]["trigger"]["executionId"] == runs["a"]["id"]
    assert runs["b"]["trigger"]["flowId"] == "a" and runs["b"]["trigger"]["state"] == "SUCCESS"
    assert runs["c"]["trigger"]["executionId"] == runs["b"]["id"]
    assert f'"upstream":"{runs["a"]["id"]}"' in runs["b"]["inputs"]


def test_a_flow_that_triggers_itself_is_cut(project: Project) -> None:
    _flow(project, "loop", RETURN, f"""  - id: again
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: {C}ExecutionFlow
        namespace: chain
        flowId: loop
""")
    with in_project(project):
        execution = api.run_flow("flows/loop.yaml", api.RunOptions(home=str(project.home)))
        if not _wired():
            on_execution_end(api.open_project(str(project.home), project.root), execution)
    assert 2 <= len(executions(project, "loop")) <= 12


def test_preconditions_wait_for_every_upstream_flow(project: Project) -> None:
    _flow(project, "x", RETURN)
    _flow(project, "y", RETURN)
    _flow(project, "join", RETURN, """  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - namespace: chain
          flowId: x
          states: [SUCCESS]
        - namespace: chain
          flowId: y
          states: [SUCCESS]
""")
    _run_chain(project, "x")
    assert executions(project, "join") == []
    _run_chain(project, "y")
    assert len(executions(project, "join")) == 1
    _run_chain(project, "y")  # reset on success: x must end again
    assert len(executions(project, "join")) == 1
