"""Manual runs of one trigger (`flowrun run FLOW --trigger ID --date D`): its inputs, labels and trigger variables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flowrun.errors import UsageError
from flowrun.model.triggers import Schedule, ScheduleOnDates
from flowrun.schedule.cron import format_date
from flowrun.schedule.plan import (
    ScheduleSpec,
    parse_moment,
    render_for,
    schedule_specs,
    trigger_labels,
    utc_text,
)
from flowrun.state.protocol import StateStore


def _load(flow: Any, home: str | None) -> Any:
    if not isinstance(flow, str | Path):
        return flow
    from flowrun.load import load_flow
    from flowrun.project import resolve_flow_ref

    path, project = resolve_flow_ref(str(flow), home)
    return load_flow(path, project.config.plugin_defaults)


def _find(flow: Any, trigger_id: str) -> Any:
    for trigger in flow.triggers:
        if trigger.id == trigger_id:
            return trigger
    known = ", ".join(t.id for t in flow.triggers) or "none"
    raise UsageError(f"flow {flow.namespace}/{flow.id} has no trigger `{trigger_id}`", hint=f"its triggers: {known}")


def _not_an_occurrence(spec: ScheduleSpec, moment: datetime) -> str:
    what = f"cron `{spec.trigger.cron}`" if isinstance(spec.trigger, Schedule) else "its `dates`"
    near = [f"{label} {format_date(d, spec.zone)}" for label, d in
            (("previous", spec.previous_before(moment)), ("next", spec.next_after(moment))) if d is not None]
    tail = f" (nearest: {', '.join(near)})" if near else ""
    return (f"{format_date(moment, spec.zone)} is not a date of trigger `{spec.trigger.id}` "
            f"({what}, {spec.trigger.timezone}){tail}")


def trigger_for_manual_run(flow: Any, trigger_id: str, date_text: str | None,
                           home: str | None = None) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, Any],
                                                             str | None]:
    """(trigger variables, labels, inputs, warning) to run one occurrence of a trigger by hand.

    `flow` is a loaded Flow or a flow reference (path or NAMESPACE/FLOW_ID). Without a date, the trigger's
    inputs and labels apply but `trigger` stays absent, as in Kestra.
    """
    flow = _load(flow, home)
    trigger = _find(flow, trigger_id)
    if not isinstance(trigger, Schedule | ScheduleOnDates):
        warning = f"trigger `{trigger_id}` is not a schedule: --date is ignored" if date_text else None
        inputs = render_for(flow, trigger_id, getattr(trigger, "inputs", None) or {}, None)
        return None, trigger_labels(flow, trigger, None), dict(inputs), warning
    spec = schedule_specs(flow, [trigger_id])[0]
    if not date_text:
        return None, spec.labels(None), spec.inputs(None), None
    moment = parse_moment(date_text, spec.zone)
    variables: dict[str, Any] = {"date": format_date(moment, spec.zone)}
    if spec.cron is not None:
        nxt, prev = spec.next_after(moment), spec.previous_before(moment)
        variables.update({k: format_date(v, spec.zone) for k, v in (("next", nxt), ("previous", prev)) if v})
    warning = None if spec.is_occurrence(moment) else _not_an_occurrence(spec, moment)
    return variables, spec.labels(variables), spec.inputs(variables), warning


def record_manual_run(db: StateStore, flow: Any, trigger_id: str, execution: Any) -> None:
    """Make a manual `--trigger --date` execution the latest execution of its date, for tick and backfill."""
    date = (execution.trigger or {}).get("date")
    if not date:
        return
    moment = datetime.fromisoformat(str(date))
    db.record_manual_claim((flow.namespace, flow.id, trigger_id), utc_text(moment), execution.id,
                           str(Path(flow.path).resolve()) if flow.path else "")
