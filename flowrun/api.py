"""Use cases behind the CLI: validate, run, inspect executions, logs and KV, render expressions, purge."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.errors import FlowrunError, InvalidFlowError, Problem
from flowrun.model.execution import TERMINAL, Execution, new_id
from flowrun.project import Project, open_project, resolve_flow_ref
from flowrun.state.db import Database


@dataclass
class RunOptions:
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    home: str | None = None
    trigger: dict[str, Any] | None = None
    listeners: list[Any] = field(default_factory=list)
    max_parallel: int | None = None
    parent_id: str | None = None


def open_state(project: Project) -> Database:
    """Open the state DB and mark executions whose process died as KILLED."""
    from flowrun.state.store import reap_dead

    db = Database(project.db_path)
    reap_dead(db)
    return db


# -- validate -------------------------------------------------------------------------------------------
def validate_paths(paths: list[str], home: str | None = None) -> list[tuple[str, list[Problem]]]:
    """Validate flow files and directories; returns (file, problems) for every file checked."""
    from flowrun.load import load_flow
    from flowrun.validate import check_subflows

    results: list[tuple[str, list[Problem]]] = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        for file in files:
            project = open_project(home, file.resolve().parent)
            try:
                flow = load_flow(file, project.config.plugin_defaults)
                results.append((str(file), check_subflows(flow, project.find_flow)))
            except InvalidFlowError as exc:
                results.append((str(file), exc.problems))
    return results


# -- run ------------------------------------------------------------------------------------------------
def _seal_for(services: Any) -> Any:
    from flowrun.crypto import is_sealed

    def seal(value: Any, secret_ids: set[str]) -> Any:
        def walk(obj: Any, top: bool) -> Any:
            if isinstance(obj, dict) and not is_sealed(obj):
                return {k: (services.cipher.seal(v) if top and k in secret_ids and isinstance(v, str)
                            else walk(v, False)) for k, v in obj.items()}
            if isinstance(obj, list):
                return [walk(v, False) for v in obj]
            if isinstance(obj, str) and len(services.masker) and services.masker.mask(obj) != obj:
                return services.cipher.seal(obj)
            return obj

        return walk(value, True)

    return seal


def _resolve_inputs(flow: Any, supplied: dict[str, Any], services: Any, execution_id: str) -> Any:
    from flowrun.engine.context import TemplateRuntime
    from flowrun.inputs import resolve_inputs
    from flowrun.storage.internal import input_prefix
    from flowrun.templating import TemplateError, render_value

    runtime = TemplateRuntime(services, flow.namespace, None)
    base = {"flow": {"id": flow.id, "namespace": flow.namespace}, "envs": services.envs,
            "globals": services.globals, "execution": {"id": execution_id}}

    def render(value: Any, inputs: Any) -> Any:
        try:
            return render_value(value, {**base, "inputs": inputs}, runtime)
        except TemplateError as exc:
            raise ValueError(exc.message) from None

    def upload(input_id: str, path: Path) -> str:
        prefix = input_prefix(flow.namespace, flow.id, execution_id, input_id)
        return services.storage.put_file(path, prefix, path.name)

    return resolve_inputs(flow.inputs, supplied, render, upload_file=upload)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def prepare_run(ref: str, options: RunOptions) -> tuple[Any, Execution, Any]:
    """Load and validate the flow, resolve its inputs: everything that can fail before anything runs."""
    from flowrun.engine.services import open_services
    from flowrun.load import load_flow
    from flowrun.validate import check_subflows

    path, project = resolve_flow_ref(ref, options.home)
    flow = load_flow(path, project.config.plugin_defaults)
    problems = check_subflows(flow, project.find_flow)
    if problems:
        raise InvalidFlowError(problems)
    if flow.doc.disabled:
        raise InvalidFlowError([Problem("the flow is disabled (`disabled: true`)", file=str(path))],
                               hint="set `disabled: false` to run it")
    services = open_services(project, open_state(project))
    execution = Execution(id=new_id(), namespace=flow.namespace, flow_id=flow.id, trigger=options.trigger,
                          parent_id=options.parent_id, flow_path=str(path), flow_source=flow.source)
    execution.set_state("CREATED")
    resolved = _resolve_inputs(flow, options.inputs, services, execution.id)
    for secret_id in resolved.secret_ids:
        value = resolved.flat.get(secret_id)
        if isinstance(value, str):
            services.masker.add(value)
    execution.inputs = resolved.values
    execution.secret_inputs = set(resolved.secret_ids)
    labels = dict(flow.labels)
    labels.update(options.labels)
    labels.setdefault("system.correlationId", execution.id)
    execution.labels = list(labels.items())
    return flow, execution, services


def run_prepared(flow: Any, execution: Execution, services: Any, options: RunOptions,
                 reuse: dict | None = None, resume_outputs: dict | None = None) -> Execution:
    """Admit the execution (flow concurrency), then run it with the recorder and the given listeners."""
    import threading

    from flowrun.engine.events import Bus
    from flowrun.engine.executor import Executor
    from flowrun.state.recorder import Recorder
    from flowrun.state.store import Heartbeat

    if execution.flow_revision is None and execution.flow_source:
        from flowrun.state.revisions import record_revision

        execution.flow_revision = record_revision(services.db, execution.namespace, execution.flow_id,
                                                  execution.flow_source)
    recorder = Recorder(services.db, _seal_for(services))
    bus = Bus([recorder, *options.listeners])
    executor = Executor(flow, execution, services, bus, max_parallel=_max_parallel(services, options),
                        reuse=reuse, resume_outputs=resume_outputs)
    if execution.state == "CREATED":
        bus.execution_updated(execution)
    interrupted = False
    with _sigterm_as_interrupt(), Heartbeat(services.db, execution.id):
        try:
            if reuse is None and not _admitted(flow, execution, services, bus, threading.Event()):
                return execution
            executor.run()
        except KeyboardInterrupt:
            interrupted = True
            executor.kill()
            execution.end_date = execution.end_date or execution.start_date
            execution.set_state("KILLED")
            bus.execution_updated(execution)
    executor.join_background()
    interrupted = interrupted or executor.interrupted
    if interrupted and options.parent_id:  # a subflow: the parent execution is being stopped too
        raise KeyboardInterrupt()
    if not interrupted and execution.state in TERMINAL:
        from flowrun.schedule.flow_trigger import on_execution_end

        on_execution_end(services.project, execution)
    return execution


def _max_parallel(services: Any, options: RunOptions) -> int:
    return options.max_parallel or services.project.config.max_parallel or 2 * (os.cpu_count() or 1)


def _admitted(flow: Any, execution: Execution, services: Any, bus: Any, stop: Any) -> bool:
    """Apply the flow's concurrency limit; False when the execution ended without running."""
    from flowrun.model.execution import utcnow
    from flowrun.state.concurrency import admit, wait_for_slot

    limit = flow.doc.concurrency
    if limit is None:
        return True
    outcome = admit(services.db, execution, limit.limit, limit.behavior)
    if outcome == "RUNNING":
        return True
    bus.execution_updated(execution)
    if outcome == "QUEUED":
        try:
            return wait_for_slot(services.db, execution, limit.limit, stop)
        except KeyboardInterrupt:
            stop.set()
            raise
    execution.error = f"the flow's concurrency limit ({limit.limit}) is reached"
    execution.end_date = utcnow()
    execution.set_state(outcome)
    bus.execution_updated(execution)
    return False


def run_flow(ref: str | Path, options: RunOptions | None = None) -> Execution:
    """Validate, resolve inputs and run a flow to its end. Returns the finished execution."""
    options = options or RunOptions()
    flow, execution, services = prepare_run(str(ref), options)
    return run_prepared(flow, execution, services, options)


def load_flow_ref(ref: str, home: str | None = None) -> Any:
    """A validated flow named by path or NAMESPACE/FLOW_ID (for graph and render)."""
    from flowrun.load import load_flow

    path, project = resolve_flow_ref(ref, home)
    return load_flow(path, project.config.plugin_defaults)


# -- inspect --------------------------------------------------------------------------------------------
def _project_db(home: str | None) -> tuple[Project, Database]:
    project = open_project(home)
    return project, open_state(project)


def list_executions(home: str | None, flow: str | None, state: str | None, limit: int) -> list[dict[str, Any]]:
    from flowrun.state.store import list_executions as query

    _, db = _project_db(home)
    return query(db, flow, state, limit)


def show_execution(home: str | None, execution_id: str) -> dict[str, Any]:
    from flowrun.crypto import mask_sealed
    from flowrun.state.store import get_execution

    _, db = _project_db(home)
    data = get_execution(db, execution_id, mask_sealed)
    if data["flowRevision"] is None:
        from flowrun.state.revisions import execution_revision

        data["flowRevision"] = execution_revision(db, data["id"])
    return data


def execution_logs(home: str | None, execution_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    from flowrun.state.store import get_logs

    _, db = _project_db(home)
    return get_logs(db, execution_id, task_id)


# -- kv -------------------------------------------------------------------------------------------------
def kv_store(home: str | None) -> Any:
    from flowrun.storage.kv import KVStore

    _, db = _project_db(home)
    return KVStore(db)


# -- render ---------------------------------------------------------------------------------------------
def render_expression(expression: str, context: dict[str, Any] | None = None, flow_ref: str | None = None,
                      inputs: dict[str, Any] | None = None, execution_id: str | None = None,
                      home: str | None = None) -> Any:
    """Render an expression from an explicit context, a flow's context, or a past execution's."""
    from flowrun.engine.context import TemplateRuntime
    from flowrun.engine.services import open_services
    from flowrun.templating import TemplateError, render

    project = open_project(home)
    variables: dict[str, Any] = dict(context or {})
    namespace = str((variables.get("flow") or {}).get("namespace", "")) if isinstance(variables.get("flow"), dict) else ""
    if flow_ref:
        flow, execution, services = prepare_run(flow_ref, RunOptions(inputs=inputs or {}, home=home))
        namespace = flow.namespace
        variables = {"flow": {"id": flow.id, "namespace": flow.namespace}, "inputs": execution.inputs,
                     "vars": flow.variables, "labels": execution.labels_map(), "envs": services.envs,
                     "globals": services.globals, "execution": {"id": execution.id}, "outputs": {}, **variables}
    else:
        services = open_services(project, open_state(project))
    if execution_id:
        variables = {**_execution_context(services.db, execution_id), **variables}
        namespace = variables["flow"]["namespace"]
    runtime = TemplateRuntime(services, namespace, None)
    try:
        return render(expression, variables, runtime)
    except TemplateError as exc:
        raise FlowrunError(f"template error: {exc.message}", hint="check names with printContext()") from None


def _execution_context(db: Database, execution_id: str) -> dict[str, Any]:
    from flowrun.crypto import mask_sealed
    from flowrun.state.store import get_execution

    data = get_execution(db, execution_id, mask_sealed)
    outputs: dict[str, Any] = {}
    for tr in data["taskRuns"]:
        if tr["outputs"]:
            outputs[tr["taskId"]] = tr["outputs"] if tr["value"] is None else {
                **outputs.get(tr["taskId"], {}), tr["value"]: tr["outputs"]}
    labels = {item["key"]: item["value"] for item in data["labels"]}
    context = {"flow": {"id": data["flowId"], "namespace": data["namespace"]}, "inputs": data["inputs"],
               "outputs": outputs, "labels": labels,
               "execution": {"id": data["id"], "startDate": data["startDate"], "state": data["state"]}}
    if data["trigger"]:
        context["trigger"] = data["trigger"]
    return context


# -- purge ----------------------------------------------------------------------------------------------
def purge_selection(home: str | None, spec: Any) -> Any:
    """The executions a `flowrun.state.purge.ExecutionFilter` matches: finished (purgeable) and unfinished."""
    from flowrun.state.purge import select_executions

    _, db = _project_db(home)
    return select_executions(db, spec)


def purge(home: str | None, executions: list[dict[str, Any]]) -> dict[str, int]:
    """Delete these executions (rows, task runs, logs, metrics and files); any no longer finished is kept."""
    from flowrun.storage.internal import InternalStorage
    from flowrun.storage.purge import purge_executions

    project, db = _project_db(home)
    return purge_executions(db, InternalStorage(project.storage_dir), executions).counts()


def hostname() -> str:
    return socket.gethostname()


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


# -- restart, resume, replay ----------------------------------------------------------------------------
def continue_execution(execution_id: str, mode: str, home: str | None = None, from_task: str | None = None,
                       resume_inputs: dict[str, Any] | None = None, listeners: list[Any] | None = None,
                       revision: int | None = None, latest: bool = False, notify: Any = None) -> Execution:
    """`restart` (failed task runs again, same execution), `resume` (a PAUSED one) or `replay` (new execution).

    The flow is the execution's revision, or `revision`, or with `latest` the file now; `notify` gets the note
    that says the file on disk differs from the revision being run.
    """
    from flowrun.engine.resume import load_execution, reuse_map, split_for_replay
    from flowrun.engine.services import open_services
    from flowrun.flow_choice import choose_flow
    from flowrun.model.execution import utcnow

    project = open_project(home)
    services = open_services(project, open_state(project))
    execution = load_execution(services.db, execution_id, services.cipher.unseal)
    _check_continuable(execution, mode)
    choice = choose_flow(services.db, execution, mode, project, revision, latest)
    flow = choice.flow
    if choice.note and notify:
        notify(choice.note)
    execution.flow_source, execution.flow_revision = flow.source, choice.revision
    for key in _secret_values(execution.inputs, flow):
        services.masker.add(key)
    runs = execution.task_runs
    if mode == "replay":
        replay_id = new_id()
        kept = _clone_runs(split_for_replay(runs, from_task or ""), replay_id)
        execution = Execution(id=replay_id, namespace=execution.namespace,
                              flow_id=execution.flow_id, inputs=execution.inputs, trigger=execution.trigger,
                              labels=[(k, v) for k, v in execution.labels if k != "system.correlationId"],
                              original_id=execution.original_id or execution.id, flow_path=execution.flow_path,
                              flow_source=execution.flow_source, flow_revision=execution.flow_revision)
        execution.labels.append(("system.correlationId", execution.id))
        runs = kept
    else:
        execution.task_runs = []
        execution.end_date = None
        if mode == "restart":
            execution.labels = [(k, v) for k, v in execution.labels if k != "system.restarted"]
            execution.labels.append(("system.restarted", "true"))
            execution.set_state("RESTARTED")
    execution.start_date = execution.start_date or utcnow()
    options = RunOptions(home=home, listeners=listeners or [])
    return run_prepared(flow, execution, services, options, reuse=reuse_map(runs),
                        resume_outputs=(resume_inputs or {}) if mode == "resume" else None)


def _check_continuable(execution: Execution, mode: str) -> None:
    from flowrun.errors import UsageError

    allowed = {"restart": ("FAILED", "KILLED", "CANCELLED", "WARNING"), "resume": ("PAUSED",),
               "replay": ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")}[mode]
    if execution.state not in allowed:
        raise UsageError(f"execution `{execution.id}` is {execution.state}; {mode} needs one of "
                         f"{', '.join(allowed)}")


def _secret_values(inputs: dict[str, Any], flow: Any) -> list[str]:
    ids = {spec.id for spec in flow.inputs if getattr(spec, "type", "") == "SECRET"}
    return [v for k, v in inputs.items() if k in ids and isinstance(v, str)]


def _clone_runs(runs: list[Any], execution_id: str) -> list[Any]:
    """Copies of task runs with new ids (parents re-linked), for a replay's new execution."""
    import copy

    ids = {run.id: new_id() for run in runs}
    clones = []
    for run in runs:
        clone = copy.deepcopy(run)
        clone.id, clone.execution_id = ids[run.id], execution_id
        clone.parent_id = ids.get(run.parent_id, run.parent_id) if run.parent_id else None
        clones.append(clone)
    return clones
