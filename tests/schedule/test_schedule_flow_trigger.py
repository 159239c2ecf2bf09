"""Flow triggers: a chain of flows started when upstream executions end, with conditions and preconditions."""

from __future__ import annotations

from conftest import Project
from schedule_harness import covers, executions, in_project

from flowrun.app.run import RunOptions, run_flow
from flowrun.app.services import open_state
from flowrun.model.execution import Execution
from flowrun.project import open_project
from flowrun.schedule.flow_trigger import matching_runs

C = "io.kestra.plugin.core.condition."


def _flow(project: Project, flow_id: str, tasks: str, triggers: str = "", extra: str = "") -> None:
    text = f"id: {flow_id}\nnamespace: chain\n{extra}tasks:\n{tasks}"
    if triggers:
        text += f"triggers:\n{triggers}"
    (project.root / "flows" / f"{flow_id}.yaml").write_text(text, encoding="utf-8")


RETURN = "  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: '{{ trigger.executionId ?? \"none\" }}'\n"


def _run_chain(project: Project, flow_id: str) -> None:
    """Run a flow; the app layer runs the flows its end triggers, and theirs, before returning."""
    with in_project(project):
        run_flow(f"flows/{flow_id}.yaml", RunOptions(home=str(project.home)))


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
    _run_chain(project, "loop")
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


def test_matching_runs_names_the_triggered_flows_and_runs_nothing(project: Project) -> None:
    _flow(project, "a", RETURN)
    _flow(project, "b", RETURN, f"""  - id: after_a
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      upstream: "{{{{ trigger.executionId }}}}"
    labels:
      from: "{{{{ trigger.flowId }}}}"
    conditions:
      - type: {C}ExecutionFlow
        namespace: chain
        flowId: a
""", extra="inputs:\n  - id: upstream\n    type: STRING\n")
    _flow(project, "c", RETURN, f"""  - id: after_b
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: {C}ExecutionFlow
        namespace: chain
        flowId: b
""")
    ended = Execution(id="upstream1", namespace="chain", flow_id="a", state="SUCCESS")
    project_ = open_project(str(project.home), project.root)

    found = list(matching_runs(project_, open_state(project_), ended))

    assert [(m.flow.id, m.trigger.id) for m in found] == [("b", "after_a")]
    assert found[0].inputs == {"upstream": "upstream1"} and found[0].labels == {"from": "a"}
    assert found[0].variables["executionId"] == "upstream1" and found[0].path.name == "b.yaml"
    assert executions(project) == []
