"""A Celery worker's use cases: run one attempt it was sent, or one whole execution handed to the broker.

A message holds ids only. The worker claims the attempt in the state store (a redelivered message finds it
taken), rebuilds the attempt's context from the recorded execution (its flow revision, inputs, the outputs and
states of its task runs), renders the task with its own secret sources, runs it, writes its logs as it goes and
its result (outputs sealed) at the end. Output files go to the shared storage of `storage:`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from flowrun.app.beats import Beats
from flowrun.engine.events import BaseListener
from flowrun.engine.outcomes import AttemptResult
from flowrun.engine.resume import ParsedRuns
from flowrun.model.execution import Execution, State, TaskRun
from flowrun.project import Project
from flowrun.state.liveness import host_name
from flowrun.state.protocol import StateStore


@dataclass
class Worker:
    """What a worker process holds: its project (its own FLOWRUN_HOME), the shared state store and its name."""

    project: Project
    db: StateStore
    name: str
    heartbeat: float
    #: the shared storage and namespace files, opened once: their clients are kept per thread
    storage: tuple[Any, Any]
    #: the task runs of the last executions it ran attempts of, parsed once per change of their rows
    parsed: ParsedRuns = field(default_factory=ParsedRuns)
    #: the heartbeats of the attempts it runs
    beats: Beats = field(init=False)

    def __post_init__(self) -> None:
        self.beats = Beats(self.db, self.name, self.heartbeat)

    @classmethod
    def open(cls, project: Project, name: str | None = None) -> Worker:
        from flowrun.app.services import open_state
        from flowrun.storage.location import open_storage

        return cls(project, open_state(project), name or f"{os.getpid()}@{host_name()}",
                   project.executor.heartbeat_seconds, open_storage(project))

    def services(self) -> Any:
        """Fresh services for one attempt or execution (its own masker), over the worker's store and storage."""
        from flowrun.engine.services import open_services

        services = open_services(self.project, self.db)
        services.storage, services.namespace_files = self.storage
        return services


class _LogsOnly(BaseListener):
    """A worker records the attempt's logs, metrics and processes, and the task runs the task reports below its
    own (dbt's nodes); the attempt's task run row is the orchestrator's."""

    def __init__(self, recorder: Any, task_run_id: str) -> None:
        self.recorder, self.task_run_id = recorder, task_run_id

    def taskrun_updated(self, execution: Any, taskrun: Any) -> None:
        if taskrun.parent_id == self.task_run_id:
            self.recorder.taskrun_updated(execution, taskrun)

    def log(self, line: Any) -> None:
        self.recorder.log(line)

    def metric(self, *args: Any) -> None:
        self.recorder.metric(*args)

    def process_started(self, *args: Any) -> None:
        self.recorder.process_started(*args)

    def process_ended(self, *args: Any) -> None:
        self.recorder.process_ended(*args)

    def flush(self) -> None:
        self.recorder.flush()


def run_attempt(worker: Worker, execution_id: str, task_run_id: str, attempt: int, revision: int | None) -> str:
    """Claim and run one attempt; returns its state, or `taken` when another delivery claimed it first."""
    db = worker.db
    with db.session():  # the claim and the reads that rebuild the context, on one connection
        if not db.claim_attempt(execution_id, task_run_id, attempt, worker.name):
            return "taken"
        services = worker.services()
        try:
            prepared: tuple[Any, Any, Any] | AttemptResult = _prepared(services, worker.parsed, execution_id,
                                                                         task_run_id, attempt, revision)
        except Exception as exc:  # the context could not be rebuilt: a failed attempt, never a silent one
            prepared = _failed(exc)
    with worker.beats.beating(execution_id, task_run_id, attempt) as beat:
        if isinstance(prepared, AttemptResult):
            result = prepared
        else:
            executor, task, ctx = prepared
            beat.cancel = ctx.cancel
            try:
                result = executor.run_attempt_here(task, ctx)
            except Exception as exc:
                result = _failed(exc)
            finally:
                executor.bus.flush()  # the log lines held back are on disk before the result is
    db.finish_attempt(task_run_id, attempt, worker.name, json.dumps(_document(services, result), default=str))
    return str(result.state)


def _failed(exc: Exception) -> AttemptResult:
    return AttemptResult(State.FAILED, error=f"the worker could not run the attempt: "
                         f"{getattr(exc, 'message', None) or f'{type(exc).__name__}: {exc}'}")


def _prepared(services: Any, parsed: ParsedRuns, execution_id: str, task_run_id: str, attempt: int,
              revision: int | None) -> tuple[Any, Any, Any]:
    """The attempt's executor, task and context, rebuilt from the recorded execution."""
    from flowrun.app.execute import attempt_executor, seal_for
    from flowrun.engine.context import TaskContext
    from flowrun.engine.events import Bus
    from flowrun.engine.resume import load_execution
    from flowrun.state.recorder import Recorder

    execution = load_execution(services.db, execution_id, services.cipher.unseal, parsed)
    flow = flow_of(services.db, execution, revision, services.project)
    note_secret_inputs(services, execution, flow)
    # held: log lines are written in batches by the write-behind thread (one transaction per line made a chatty
    # task, dbt's hundreds of lines, wait on the shared Postgres), and flushed before the attempt's result
    bus = Bus([_LogsOnly(Recorder(services.db, seal_for(services), hold=True), task_run_id)])
    executor = attempt_executor(flow, execution, services, bus)
    runs = {run.id: run for run in execution.task_runs}
    taskrun = runs[task_run_id]
    task = next(t for t in flow.all_tasks() if t.id == taskrun.task_id)
    return executor, task, TaskContext(executor, taskrun, task, scope_of(taskrun, runs), attempt)


def _document(services: Any, result: AttemptResult) -> dict[str, Any]:
    """The attempt's result as stored: outputs sealed where they hold a secret, error and evidence masked."""
    from flowrun.app.execute import seal_for

    mask = services.masker.mask
    return {"state": str(result.state), "outputs": seal_for(services)(result.outputs, set()),
            "error": mask(result.error) if result.error else None,
            "evidence": {k: mask(str(v)) for k, v in result.evidence.items()}}


def scope_of(taskrun: TaskRun, runs: dict[str, TaskRun]) -> Any:
    """The scope a recorded task run ran in: its loop values and its parents' values and outputs."""
    from flowrun.tasks.runner import Scope

    parents: list[dict[str, Any]] = []
    parent = runs.get(taskrun.parent_id or "")
    run = parent
    while run is not None:
        if run.value is not None or run.outputs:
            parents.append({"taskrun": {"value": run.value}, "outputs": run.outputs})
        run = runs.get(run.parent_id or "")
    return Scope(value_path=taskrun.value_path, parents=parents, parent_run=parent)


_flows: dict[tuple[str, str, int | None, int], Any] = {}
_flows_lock = threading.Lock()


def flow_of(db: StateStore, execution: Execution, revision: int | None, project: Project) -> Any:
    """The flow an execution runs: its recorded revision, validated here. Cached in this process by revision
    and the execution's own source (a revision's number is that source's), so a cached one costs no query."""
    key = (execution.namespace, execution.flow_id, revision, hash(execution.flow_source))
    with _flows_lock:
        flow = _flows.get(key)
    if flow is None:
        flow = _validated(db, execution, revision, project)
        with _flows_lock:
            _flows[key] = flow
    return flow


def _validated(db: StateStore, execution: Execution, revision: int | None, project: Project) -> Any:
    from flowrun.model.parse import parse_yaml
    from flowrun.validate import validate_document

    source = execution.flow_source
    if revision is not None:
        stored = db.get_revision(execution.namespace, execution.flow_id, revision)
        source = stored.source if stored is not None else source
    if not source:
        raise ValueError(f"execution {execution.id} has no recorded flow source")
    name = execution.flow_path or f"{execution.namespace}/{execution.flow_id}"
    return validate_document(parse_yaml(source, name), project.config.plugin_defaults)


def note_secret_inputs(services: Any, execution: Execution, flow: Any) -> None:
    """The execution's SECRET inputs are masked in everything this worker writes."""
    ids = {spec.id for spec in flow.inputs if getattr(spec, "type", "") == "SECRET"}
    execution.secret_inputs = ids & set(execution.inputs)
    for key in execution.secret_inputs:
        value = execution.inputs.get(key)
        if isinstance(value, str):
            services.masker.add(value)


def run_execution(worker: Worker, execution_id: str) -> str:
    """Take one execution handed to the broker and run it here, every attempt in this process. Returns its end
    state, or `taken` when it is not (or no longer) waiting for a worker."""
    from flowrun.app.execute import execute
    from flowrun.app.run import finish, subflow_starter
    from flowrun.engine.launch import RunOptions
    from flowrun.engine.resume import load_execution
    if not worker.db.take_execution(execution_id):
        return "taken"
    services = worker.services()
    services.start_execution = subflow_starter(0)
    services.worker_name = worker.name
    execution = load_execution(services.db, execution_id, services.cipher.unseal)
    flow = flow_of(services.db, execution, execution.flow_revision, worker.project)
    note_secret_inputs(services, execution, flow)
    options = RunOptions(home=str(worker.project.home))
    finish(execution, services, options, execute(flow, execution, services, options))
    return str(execution.state)
