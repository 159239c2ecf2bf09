"""`run_flow`: load and validate a flow once, resolve its inputs, run it, then run the flows its end triggers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flowrun.app.execute import Outcome, execute
from flowrun.app.services import open_services, use_workers
from flowrun.engine.launch import RunOptions
from flowrun.engine.services import Services, StartExecution
from flowrun.errors import FlowrunError, InvalidFlowError, Problem, UsageError
from flowrun.model.execution import TERMINAL, Execution, new_id
from flowrun.plain import Plain
from flowrun.project import resolve_flow_ref
from flowrun.storage.location import publish_namespace_files

__all__ = ["Run", "RunOptions", "finish", "run_flow", "start_execution", "subflow_starter"]


class Run(Plain):
    """A prepared execution of a flow (a `flowrun.engine.launch.PreparedRun`): `run()` runs it."""

    FIELDS = ("flow", "execution", "services", "options", "manual_trigger")

    def __init__(self, flow: Any, execution: Execution, services: Services, options: RunOptions,
                 manual_trigger: str | None = None) -> None:
        self.flow = flow
        self.execution = execution
        self.services = services
        self.options = options
        #: `flowrun run --trigger ID`: the date run by hand counts for tick and backfill
        self.manual_trigger = manual_trigger

    def run(self) -> Execution:
        if self.manual_trigger and self.execution.trigger:
            from flowrun.schedule.manual import record_manual_run

            record_manual_run(self.services.db, self.flow, self.manual_trigger, self.execution)
        return finish(self.execution, self.services, self.options,
                      execute(self.flow, self.execution, self.services, self.options))


def run_flow(ref: str | Path, options: RunOptions | None = None, trigger_id: str | None = None,
             date: str | None = None, notify: Callable[[str], None] | None = None) -> Execution:
    """Validate, resolve inputs and run a flow to its end (or its pause). Returns the execution."""
    return start_execution(str(ref), options or RunOptions(), trigger_id, date, notify).run()


def _check_max_parallel(value: int | None) -> None:
    """A UsageError for a `--max-parallel` that would let no task attempt run (0 or less)."""
    if value is not None and value < 1:
        raise UsageError(f"--max-parallel must be at least 1, got {value}",
                         hint="it caps the task attempts running at once; leave it out for maxParallel in "
                              "flowrun.yaml, else max(32, 8 x CPUs)")


def start_execution(ref: str, options: RunOptions, trigger_id: str | None = None, date: str | None = None,
                    notify: Callable[[str], None] | None = None) -> Run:
    """Everything that can fail before anything runs: load and validate the flow (once), resolve its inputs.

    With `trigger_id`, run as that trigger would (its inputs and labels; with `date`, that schedule date);
    `notify` gets the warning when the date is not one of the trigger's.
    """
    from flowrun.load import load_project_flow

    _check_max_parallel(options.max_parallel)
    path, project = resolve_flow_ref(ref, options.home)
    flow = load_project_flow(path, project)
    if trigger_id:
        options = _as_trigger(flow, options, trigger_id, date, notify)
    elif date:
        raise UsageError("--date needs --trigger", hint="name the Schedule trigger: --trigger ID --date ISO")
    if flow.doc.disabled:
        raise InvalidFlowError([Problem("the flow is disabled (`disabled: true`)", file=str(path))],
                               hint="set `disabled: false` to run it")
    services = open_services(project)
    use_workers(services)
    services.start_execution = subflow_starter(options.trigger_depth)
    publish_namespace_files(project, services.namespace_files)
    execution = Execution(id=new_id(), namespace=flow.namespace, flow_id=flow.id, trigger=options.trigger,
                          parent_id=options.parent_id, flow_path=str(path), flow_source=flow.source)
    execution.set_state("CREATED")
    _set_inputs(execution, flow, options, services)
    labels = dict(flow.labels)
    labels.update(options.labels)
    labels.setdefault("system.correlationId", execution.id)
    execution.labels = list(labels.items())
    return Run(flow, execution, services, options, trigger_id if options.trigger else None)


def _as_trigger(flow: Any, options: RunOptions, trigger_id: str, date: str | None,
                notify: Callable[[str], None] | None) -> RunOptions:
    """The options of a run by hand of one trigger: its inputs and labels under the ones given."""
    from flowrun.schedule.manual import trigger_for_manual_run

    variables, labels, inputs, warning = trigger_for_manual_run(flow, trigger_id, date)
    if warning and notify:
        notify(f"warning: {warning}")
    return options.replace(inputs={**inputs, **options.inputs}, labels={**labels, **options.labels},
                           trigger=variables)


def subflow_starter(depth: int) -> StartExecution:
    """The `start_execution` handed down to an execution's subflows, at its depth in a Flow trigger chain."""
    return partial(_start_nested, depth=depth)


def _start_nested(ref: str, options: RunOptions, depth: int) -> Run:
    """A subflow's execution: it counts as deep in a Flow trigger chain as its parent."""
    return start_execution(ref, options.replace(trigger_depth=depth))


def _set_inputs(execution: Execution, flow: Any, options: RunOptions, services: Services) -> None:
    if not flow.inputs and not options.inputs:  # nothing to type: the inputs machinery is not even imported
        execution.inputs, execution.secret_inputs = {}, set()
        return
    resolved = _resolve_inputs(flow, options.inputs, services, execution.id, options.strict_inputs)
    for secret_id in resolved.secret_ids:
        value = resolved.flat.get(secret_id)
        if isinstance(value, str):
            services.masker.add(value)
    execution.inputs = resolved.values
    execution.secret_inputs = set(resolved.secret_ids)


def _resolve_inputs(flow: Any, supplied: dict[str, Any], services: Services, execution_id: str,
                    strict: set[str]) -> Any:
    return resolve_input_specs(flow, flow.inputs, supplied, services, execution_id, strict)


def resolve_input_specs(flow: Any, specs: list[Any], supplied: dict[str, Any], services: Services,
                        execution_id: str, strict: set[str]) -> Any:
    """Type and validate `supplied` against input definitions (the flow's, or a Pause's `onResume`)."""
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

    return resolve_inputs(specs, supplied, render, upload_file=upload, strict=strict)


def finish(execution: Execution, services: Services, options: RunOptions, outcome: Outcome) -> Execution:
    """After an execution ran: a stopped subflow stops its parent too; an ended one fires its Flow triggers."""
    if outcome.interrupted and options.parent_id:  # a subflow: the parent execution is being stopped too
        raise KeyboardInterrupt()
    if outcome.admitted and not outcome.interrupted and execution.state in TERMINAL:
        fire_flow_triggers(services, execution, options.trigger_depth)
    return execution


def fire_flow_triggers(services: Services, execution: Execution, depth: int) -> None:
    """Run, in order and to their end, the flows whose Flow trigger `execution` fires; a chain too deep is cut."""
    from flowrun.schedule.flow_trigger import MAX_DEPTH, matching_runs, settle

    if depth >= MAX_DEPTH:
        return
    home = str(services.project.home)
    for match in matching_runs(services.project, services.db, execution):
        options = RunOptions(inputs=match.inputs, labels=match.labels, home=home, trigger=match.variables,
                             trigger_depth=depth + 1)
        try:
            child = start_execution(str(match.path), options).run()
            settle(services.db, match, child)
        except (FlowrunError, ValueError):
            continue
