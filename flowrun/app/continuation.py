"""`continue_execution`: restart (failed task runs again), resume (a PAUSED one) or replay (a new execution)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowrun.app.execute import execute
from flowrun.app.run import finish, subflow_starter
from flowrun.app.services import open_services, use_workers
from flowrun.engine.launch import RunOptions
from flowrun.errors import UsageError
from flowrun.model.execution import Execution, new_id
from flowrun.project import open_project
from flowrun.state.protocol import StateStore

ALLOWED = {"restart": ("FAILED", "KILLED", "CANCELLED", "WARNING"), "resume": ("PAUSED",),
           "replay": ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")}


def continue_execution(execution_id: str, mode: str, home: str | None = None, from_task: str | None = None,
                       resume_inputs: dict[str, Any] | None = None, listeners: list[Any] | None = None,
                       revision: int | None = None, latest: bool = False,
                       notify: Callable[[str], None] | None = None,
                       delays: dict[str, Any] | None = None, start: Path | None = None) -> Execution:
    """`restart` (failed task runs again, same execution), `resume` (a PAUSED one) or `replay` (new execution).

    The flow is the execution's revision, or `revision`, or with `latest` the file now; `notify` gets the note
    that says the file on disk differs from the revision being run. A resume continues the first PAUSED Pause
    with `resume_inputs`, or (from tick) the pauses of `delays` (task run id -> flowrun.state.records.Due).
    """
    from flowrun.app.flow_choice import choose_flow
    from flowrun.app.resume import plan_resumptions
    from flowrun.engine.resume import load_execution, reuse_map, split_for_replay
    from flowrun.model.execution import utcnow

    project = open_project(home, start)
    services = open_services(project)
    use_workers(services)
    services.start_execution = subflow_starter(0)
    execution = load_execution(services.db, execution_id, services.cipher.unseal)
    _check_continuable(execution, mode)
    _check_no_live_tasks(services.db, execution.id)
    choice = choose_flow(services.db, execution, mode, project, revision, latest)
    flow = choice.flow
    if choice.note and notify:
        notify(choice.note)
    execution.flow_source, execution.flow_revision = flow.source, choice.revision
    for key in _secret_values(execution.inputs, flow):
        services.masker.add(key)
    runs = execution.task_runs
    reuse = reuse_map(runs)
    resumptions = plan_resumptions(execution, flow, services, resume_inputs, delays) if mode == "resume" else None
    if mode == "replay":
        execution, runs = _replay_of(execution, split_for_replay(runs, from_task or ""))
    else:
        _reopen(execution, mode, resumptions)
        # the earlier iterations of a loop (LoopUntil) share their key with the last one: kept as recorded
        execution.task_runs = [run for run in runs if reuse.get((run.task_id, run.value_path)) is not run]
    execution.start_date = execution.start_date or utcnow()
    options = RunOptions(home=home, listeners=listeners or [])
    outcome = execute(flow, execution, services, options, reuse=reuse if mode != "replay" else reuse_map(runs),
                      resumptions=resumptions)
    return finish(execution, services, options, outcome)


def _reopen(execution: Execution, mode: str, resumptions: dict[str, Any] | None = None) -> None:
    """The same execution, to run again: its task runs are reused from the earlier run."""
    execution.task_runs = []
    execution.end_date = None
    if resumptions and any(r.to != "CANCELLED" for r in resumptions.values()):
        execution.set_state("RESTARTED")  # as Kestra's resume: PAUSED, RESTARTED, RUNNING
    if mode == "restart":
        execution.labels = [(k, v) for k, v in execution.labels if k != "system.restarted"]
        execution.labels.append(("system.restarted", "true"))
        execution.set_state("RESTARTED")


def _replay_of(execution: Execution, kept: list[Any]) -> tuple[Execution, list[Any]]:
    """A new execution of the same flow and inputs, and copies of the `kept` task runs for it to reuse."""
    replay_id = new_id()
    replay = Execution(id=replay_id, namespace=execution.namespace,
                       flow_id=execution.flow_id, inputs=execution.inputs, trigger=execution.trigger,
                       labels=[(k, v) for k, v in execution.labels if k != "system.correlationId"],
                       original_id=execution.original_id or execution.id, flow_path=execution.flow_path,
                       flow_source=execution.flow_source, flow_revision=execution.flow_revision)
    replay.labels.append(("system.correlationId", replay.id))
    return replay, _clone_runs(kept, replay_id)


def _check_continuable(execution: Execution, mode: str) -> None:
    allowed = ALLOWED[mode]
    if execution.state not in allowed:
        raise UsageError(f"execution `{execution.id}` is {execution.state}; {mode} needs one of "
                         f"{', '.join(allowed)}")


def _check_no_live_tasks(db: StateStore, execution_id: str) -> None:
    """Refuse to run an execution again while a task process of its earlier run still runs on this host.

    Opening the state already killed the groups whose flowrun process died; what is left has a live owner.
    """
    from flowrun.state.processes import live_groups

    alive = live_groups(db, execution_id)
    if alive:
        row = alive[0]
        raise UsageError(f"execution `{execution_id}`: task `{row['task_id']}` of its earlier run still runs "
                         f"(process group {row['pgid']}, started by flowrun pid {row['runner_pid']})",
                         hint=f"wait for it to end, or stop it with `kill -- -{row['pgid']}`, then try again")


def _secret_values(inputs: dict[str, Any], flow: Any) -> list[str]:
    ids = {spec.id for spec in flow.inputs if getattr(spec, "type", "") == "SECRET"}
    return [v for k, v in inputs.items() if k in ids and isinstance(v, str)]


def _clone_runs(runs: list[Any], execution_id: str) -> list[Any]:
    """Copies of task runs with new ids (parents re-linked), for a replay's new execution."""
    ids = {run.id: new_id() for run in runs}
    clones = []
    for run in runs:
        clone = copy.deepcopy(run)
        clone.id, clone.execution_id = ids[run.id], execution_id
        clone.parent_id = ids.get(run.parent_id, run.parent_id) if run.parent_id else None
        clones.append(clone)
    return clones
