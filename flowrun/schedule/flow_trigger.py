"""Flow triggers: when an execution ends, which of the project's flows it triggers, with their inputs and labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import FlowrunError
from flowrun.model.execution import iso, utcnow
from flowrun.plain import Plain
from flowrun.schedule import trigger_state
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:  # imported on use: most executions end in a project without any Flow trigger
    from flowrun.model.triggers import FlowTrigger
    from flowrun.schedule.conditions import ExecutionFacts

#: a chain of Flow triggers deeper than this is cut (a flow that triggers itself forever)
MAX_DEPTH = 10
DEFAULT_STATES = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED")
_MARKERS = ("core.trigger.Flow", "triggers.types.Flow")


def _facts(execution: Any) -> ExecutionFacts:
    from flowrun.schedule.conditions import ExecutionFacts

    return ExecutionFacts(execution.namespace, execution.flow_id, str(execution.state), list(execution.labels),
                          dict(execution.outputs or {}))


def trigger_variables(execution: Any) -> dict[str, Any]:
    """`trigger.*` of an execution started by a Flow trigger."""
    variables: dict[str, Any] = {"executionId": execution.id, "namespace": execution.namespace,
                                 "flowId": execution.flow_id, "flowRevision": 1, "state": str(execution.state)}
    if execution.outputs:
        variables["outputs"] = execution.outputs
    return variables


def _candidates(project: Any) -> list[tuple[Path, Any]]:
    """(path, flow) of every valid, enabled flow of the project that declares a Flow trigger."""
    from flowrun.load import load_project_flow

    found = []
    for path in project.flow_files():
        try:
            if not any(marker in path.read_text(encoding="utf-8") for marker in _MARKERS):
                continue
            flow = load_project_flow(path, project)
        except (OSError, UnicodeDecodeError, FlowrunError):
            continue
        if not flow.doc.disabled:
            found.append((path, flow))
    return found


def _window_start(preconditions: dict[str, Any], now: datetime) -> datetime:
    from flowrun.durations import parse_duration

    window = preconditions.get("timeWindow") or {}
    if str(window.get("type", "DURATION_WINDOW")).startswith("DAILY"):
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now - parse_duration(str(window.get("window", "PT24H")))


def _upstream_matches(entry: dict[str, Any], facts: ExecutionFacts) -> bool:
    states = [s.upper() for s in entry.get("states") or ["SUCCESS"]]
    labels = entry.get("labels") or {}
    return (entry.get("namespace") in (None, facts.namespace) and entry.get("flowId") in (None, facts.flow_id)
            and facts.state in states and all((str(k), str(v)) in set(facts.labels) for k, v in labels.items()))


def _preconditions_met(db: StateStore, key: tuple[str, str, str], preconditions: dict[str, Any] | None,
                       facts: ExecutionFacts) -> bool:
    """Each upstream flow of `preconditions.flows` ended as wanted within the time window (this one included)."""
    from flowrun.schedule.conditions import ConditionError

    if not preconditions:
        return True
    if preconditions.get("where"):
        raise ConditionError("preconditions.where is not supported by flowrun")
    entries = preconditions.get("flows") or []
    if not any(_upstream_matches(e, facts) for e in entries):
        return False
    now = datetime.now(UTC)
    since = _window_start(preconditions, now)
    state = trigger_state.read(db, key)
    if state is not None and state["last_tick"] and preconditions.get("resetOnSuccess", True):
        since = max(since, datetime.fromisoformat(state["last_tick"]))
    for entry in entries:
        if _upstream_matches(entry, facts):
            continue
        states = [s.upper() for s in entry.get("states") or ["SUCCESS"]]
        if not db.ended_since(entry.get("namespace"), entry.get("flowId"), states, str(iso(since))):
            return False
    return True


def matches(db: StateStore, flow: Any, trigger: FlowTrigger, execution: Any) -> bool:
    """Whether an ended execution fires this Flow trigger (states, conditions, preconditions)."""
    from flowrun.schedule.conditions import EXECUTION_CONDITIONS, ConditionContext, all_true

    key = (flow.namespace, flow.id, trigger.id)
    if trigger.disabled or trigger_state.is_disabled(db, key):
        return False
    facts = _facts(execution)
    if facts.state not in [s.upper() for s in trigger.states or DEFAULT_STATES]:
        return False
    if (facts.namespace, facts.flow_id) == (flow.namespace, flow.id) and not (trigger.conditions or
                                                                            trigger.preconditions):
        return False  # an unconditional trigger never reacts to its own flow
    variables = {"trigger": trigger_variables(execution), "flow": {"id": flow.id, "namespace": flow.namespace},
                 "execution": {"id": execution.id, "state": facts.state, "outputs": facts.outputs}}
    conditions = [c for c in trigger.conditions or [] if _short(c.get("type", "")) in EXECUTION_CONDITIONS]
    return all_true(conditions, ConditionContext(variables, facts)) and \
        _preconditions_met(db, key, trigger.preconditions, facts)


def _short(type_name: str) -> str:
    from flowrun.schedule.conditions import ConditionError, condition_class

    try:
        return condition_class(type_name).__name__
    except ConditionError:
        return type_name


class TriggeredRun(Plain):
    """A Flow trigger that an ended execution fires: the flow to run, with its inputs, labels and `trigger.*`."""

    FIELDS = ("path", "flow", "trigger", "inputs", "labels", "variables")

    def __init__(self, path: Path, flow: Any, trigger: FlowTrigger, inputs: dict[str, Any], labels: dict[str, str],
                 variables: dict[str, Any]) -> None:
        self.path = path
        self.flow = flow
        self.trigger = trigger
        self.inputs = inputs
        self.labels = labels
        self.variables = variables

    @property
    def key(self) -> tuple[str, str, str]:
        return self.flow.namespace, self.flow.id, self.trigger.id


def _triggered(db: StateStore, path: Path, flow: Any, trigger: FlowTrigger, execution: Any) -> TriggeredRun:
    from flowrun.schedule.plan import render_for, trigger_labels

    variables = trigger_variables(execution)
    run = TriggeredRun(path, flow, trigger, dict(render_for(flow, trigger.id, trigger.inputs or {}, variables)),
                       trigger_labels(flow, trigger, variables), variables)
    db.set_last_tick(run.key, str(iso(utcnow())))
    return run


def matching_runs(project: Any, db: StateStore, execution: Any) -> Iterator[TriggeredRun]:
    """Each Flow trigger of the project that `execution` fires, in order; it runs nothing.

    Lazy: a trigger is matched only once the run of the one before is done, so that its conditions see that run.
    A trigger whose conditions or inputs cannot be evaluated is passed over.
    """
    candidates = _candidates(project)
    if not candidates:
        return
    from flowrun.model.triggers import FlowTrigger

    for path, flow in candidates:
        for trigger in (t for t in flow.triggers if isinstance(t, FlowTrigger)):
            try:
                found = _triggered(db, path, flow, trigger, execution) if matches(db, flow, trigger, execution) \
                    else None
            except FlowrunError:
                continue
            if found is not None:
                yield found


def settle(db: StateStore, run: TriggeredRun, child: Any) -> None:
    """After the triggered execution `child` ended: apply the trigger's `stopAfter`."""
    trigger_state.apply_stop_after(db, run.key, run.trigger.stop_after, child.state, child.id)
