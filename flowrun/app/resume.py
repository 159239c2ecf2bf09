"""Resuming a PAUSED execution: which Pause task runs go on, to what state, with which typed `onResume` inputs."""

from __future__ import annotations

from typing import Any

from flowrun.engine.pause import Resumption
from flowrun.engine.services import Services
from flowrun.errors import UsageError
from flowrun.model.execution import Execution, State


def check_not_running(services: Services, execution: Execution) -> None:
    """Refuse to resume an execution that a live flowrun process still runs (a pause waiting in it)."""
    from flowrun.state.pauses import run_by_live_process

    owner = services.db.execution_owner(execution.id)
    if owner is not None and run_by_live_process(owner):
        raise UsageError(f"execution `{execution.id}` is still run by flowrun process {owner['pid']} on "
                         f"{owner['host']} (its pause waits there)",
                         hint="wait for that process to end, or stop it with Ctrl-C, then resume")


def plan_resumptions(execution: Execution, flow: Any, services: Services, inputs: dict[str, Any] | None,
                     delays: dict[str, Any] | None) -> dict[str, Resumption]:
    """The PAUSED task runs to resume: those whose delay passed or whose resume was asked by an execution.Resume
    task (`delays`, from tick: task run id -> flowrun.state.records.Due), or else, as Kestra's resume does, the
    first PAUSED Pause task run, to SUCCESS with `inputs` checked against its `onResume`."""
    check_not_running(services, execution)
    tasks = {task.id: task for task in flow.all_tasks()}
    if delays is not None:
        runs = {tr.id: tr for tr in execution.task_runs}
        plan = {}
        for task_run_id, due in delays.items():
            task = tasks.get(runs[task_run_id].task_id) if task_run_id in runs else None
            asked = services.cipher.unseal(due.inputs) if due.inputs is not None else None
            values = typed_resume_inputs(execution, flow, task, services, asked) if task and asked is not None \
                else None
            plan[task_run_id] = Resumption(State(due.state), values)
        return plan
    paused = [tr for tr in sorted(execution.task_runs, key=lambda tr: tr.seq)
              if tr.state == State.PAUSED and getattr(tasks.get(tr.task_id), "pausable", False)]
    if not paused:
        raise UsageError(f"execution `{execution.id}` has no PAUSED Pause task run to resume")
    task = tasks[paused[0].task_id]
    values = typed_resume_inputs(execution, flow, task, services, inputs or {})
    return {paused[0].id: Resumption(State.SUCCESS, values)}


def typed_resume_inputs(execution: Execution, flow: Any, task: Any, services: Services,
                        supplied: dict[str, Any]) -> dict[str, Any] | None:
    """The Pause's `onResume` inputs typed, defaulted and validated like flow inputs (a missing required one is
    an InputError, nothing resumed); a Pause that declares none gets the supplied values as they are."""
    from flowrun.app.run import resolve_input_specs

    specs = task.resume_inputs()
    if not specs:
        return dict(supplied) or None
    resolved = resolve_input_specs(flow, specs, supplied, services, execution.id, set(supplied))
    for secret_id in resolved.secret_ids:
        value = resolved.flat.get(secret_id)
        if isinstance(value, str):
            services.masker.add(value)
    return dict(resolved.values)
