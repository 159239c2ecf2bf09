"""The Subflow task: find the child flow in the project, run it as its own execution linked to the parent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.execution import Attempt, State, utcnow

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


def child_labels(ex: Runner, task: Any, variables: dict[str, Any]) -> dict[str, str]:
    """System labels always pass to the child; all parent labels with inheritLabels; then the task's own."""
    labels = {k: v for k, v in ex.execution.labels if k.startswith("system.") and k != "system.correlationId"
              or task.inherit_labels and not k.startswith("system.")}
    raw = task.labels or {}
    pairs = raw.items() if isinstance(raw, dict) else [(i.get("key"), i.get("value")) for i in raw]
    for key, value in pairs:
        labels[str(ex.render(key, variables))] = str(ex.render(value, variables))
    return labels


def not_found(project: Any, namespace: str, flow_id: str) -> str:
    """Which flow was wanted and where flowrun looked for it."""
    searched = len(project.flow_files())
    where = (f"{project.flows_dir} ({searched} flow file(s) searched)" if searched
             else f"{project.flows_dir}, which holds no flow file")
    return (f"subflow {namespace}/{flow_id} not found: no flow with namespace `{namespace}` and id `{flow_id}` "
            f"under {where}; put the flow's file there")


def run_subflow(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> State:
    """Run the child; the task run gets one attempt ending in its own state, as Kestra records it (FlowCaseTest)."""
    attempt = Attempt(state=State.RUNNING, start_date=utcnow())
    taskrun.attempts.append(attempt)
    state = State.FAILED
    try:
        state = _run_child(ex, task, taskrun, scope)
        return state
    finally:
        attempt.state, attempt.end_date = (State.KILLED if ex.killed.is_set() else state), utcnow()


def _run_child(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> State:
    from flowrun.engine.launch import RunOptions

    start = ex.services.start_execution
    if start is None:
        raise TaskError("subflows run only where flowrun starts executions (its services have no start_execution)")
    variables = ex.task_variables(task, taskrun, scope)
    namespace = str(ex.render(task.namespace, variables))
    flow_id = str(ex.render(task.flow_id, variables))
    if (namespace, flow_id) == (ex.flow.namespace, ex.flow.id):
        raise TaskError("a flow cannot call itself as a subflow")
    path = ex.services.project.find_flow(namespace, flow_id)
    if path is None:
        raise TaskError(not_found(ex.services.project, namespace, flow_id))
    options = RunOptions(
        inputs=ex.render(task.inputs or {}, variables, typed=True), labels=child_labels(ex, task, variables),
        home=str(ex.services.project.home), parent_id=ex.execution.id,
        trigger={"executionId": ex.execution.id, "namespace": ex.flow.namespace, "flowId": ex.flow.id,
                 "flowRevision": ex.execution.flow_revision or 1},
    )
    try:
        prepared = start(str(path), options)
    except FlowrunError as exc:
        raise TaskError(f"subflow {namespace}/{flow_id}: {exc.message}") from None
    child = prepared.execution
    ex.set_outputs(taskrun, {"executionId": child.id})
    ex.emit_log(taskrun, None, "INFO", f"started subflow {namespace}/{flow_id} as execution {child.id}")
    if not task.wait:
        ex.run_in_background(prepared.run)
        return State.SUCCESS
    prepared.run()
    ex.set_outputs(taskrun, {"executionId": child.id, "state": str(child.state), "outputs": child.outputs})
    if child.state in (State.FAILED, State.KILLED, State.CANCELLED) and task.transmit_failed:
        taskrun.error = f"subflow execution {child.id} ended {child.state}"
        return State.FAILED
    if child.state == State.WARNING and task.transmit_failed:
        return State.WARNING
    return State.SUCCESS
