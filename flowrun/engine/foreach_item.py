"""ForEachItem's subflow executions: one per batch, linked to the parent, counted per state, outputs gathered."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.engine.launch import RunOptions
from flowrun.engine.subflow import child_labels, not_found
from flowrun.errors import FlowrunError, TaskError
from flowrun.model.execution import Attempt, State, utcnow

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


def run_batches(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope, batches: list[str]) -> State:
    """Run the subflow once per batch (one attempt on the `_items` task run, as Kestra records it)."""
    attempt = Attempt(state=State.RUNNING, start_date=utcnow())
    taskrun.attempts.append(attempt)
    state = State.FAILED
    try:
        state = _run_all(ex, task, taskrun, scope, batches) if batches else State.SUCCESS
        return state
    finally:
        attempt.state, attempt.end_date = (State.KILLED if ex.killed.is_set() else state), utcnow()


def _options(ex: Runner, task: Any, taskrun: TaskRun, variables: dict[str, Any], labels: dict[str, str],
             uri: str, iteration: int) -> RunOptions:
    inputs = ex.render(task.inputs or {}, {**variables, "taskrun": {"items": uri, "iteration": iteration}})
    trigger = {"executionId": ex.execution.id, "namespace": ex.flow.namespace, "flowId": ex.flow.id,
               "flowRevision": ex.execution.flow_revision or 1, "taskRunId": taskrun.id, "taskId": task.id,
               "taskRunIteration": iteration}
    return RunOptions(inputs=inputs, labels=dict(labels), home=str(ex.services.project.home),
                      parent_id=ex.execution.id, trigger=trigger)


def _run_all(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope, batches: list[str]) -> State:
    start = ex.services.start_execution
    if start is None:
        raise TaskError("subflows run only where flowrun starts executions (its services have no start_execution)")
    variables = ex.task_variables(task, taskrun, scope)
    namespace, flow_id = str(ex.render(task.namespace, variables)), str(ex.render(task.flow_id, variables))
    if (namespace, flow_id) == (ex.flow.namespace, ex.flow.id):
        raise TaskError("a flow cannot call itself as the subflow of a ForEachItem")
    path = ex.services.project.find_flow(namespace, flow_id)
    if path is None:
        raise TaskError(not_found(ex.services.project, namespace, flow_id))
    labels = child_labels(ex, task, variables)
    labels["system.correlationId"] = ex.execution.labels_map().get("system.correlationId", ex.execution.id)
    counts: dict[str, int] = {"CREATED": 0, "RUNNING": 0} if task.wait else {"RUNNING": 0}
    states: list[State] = []
    gathered: list[dict[str, Any]] = []
    for iteration, uri in enumerate(batches):
        if ex.killed.is_set():
            break
        try:
            prepared = start(str(path), _options(ex, task, taskrun, variables, labels, uri, iteration))
        except FlowrunError as exc:
            raise TaskError(f"subflow {namespace}/{flow_id}, batch {iteration}: {exc.message}") from None
        if not task.wait:
            ex.run_in_background(prepared.run)
            counts["SUCCESS"] = counts.get("SUCCESS", 0) + 1
            continue
        child = prepared.run()
        states.append(child.state)
        counts[child.state.value] = counts.get(child.state.value, 0) + 1
        if child.outputs:
            gathered.append(child.outputs)
        ex.set_outputs(taskrun, {"numberOfBatches": len(batches), "iterations": dict(counts)})
    outputs: dict[str, Any] = {"numberOfBatches": len(batches), "iterations": counts}
    if gathered:
        outputs["uri"] = _store_outputs(ex, taskrun, gathered)
    ex.set_outputs(taskrun, outputs)
    ex.emit_log(taskrun, None, "INFO", f"{len(batches)} batch(es) of {namespace}/{flow_id}: {counts}")
    return _state(taskrun, task, states)


def batch_state(states: list[State], transmit_failed: bool) -> State:
    """The `_items` task run's state from its subflows' states."""
    if not transmit_failed:
        return State.SUCCESS
    if any(state in (State.FAILED, State.KILLED, State.CANCELLED) for state in states):
        return State.FAILED
    return State.WARNING if State.WARNING in states else State.SUCCESS


def _state(taskrun: TaskRun, task: Any, states: list[State]) -> State:
    state = batch_state(states, task.transmit_failed)
    if state == State.FAILED:
        failed = sum(1 for s in states if s in (State.FAILED, State.KILLED, State.CANCELLED))
        taskrun.error = f"{failed} of {len(states)} subflow executions failed"
    return state


def _store_outputs(ex: Runner, taskrun: TaskRun, gathered: list[dict[str, Any]]) -> str:
    """The subflows' outputs, one Ion line each, as a file of the `_items` task run."""
    from flowrun import ion
    from flowrun.storage.internal import task_prefix

    prefix = task_prefix(ex.flow.namespace, ex.flow.id, ex.execution.id, taskrun.task_id, taskrun.id)
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / "outputs.ion"
        ion.write_lines(local, gathered)
        return str(ex.services.storage.put_file(local, prefix, "outputs.ion"))
