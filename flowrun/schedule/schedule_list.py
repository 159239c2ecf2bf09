"""`flowrun schedule list|cron`: every schedule trigger with its next dates and last run; the crontab line."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from flowrun.model.triggers import Schedule
from flowrun.schedule import trigger_state
from flowrun.schedule.cron import format_date
from flowrun.schedule.plan import ScheduleSpec
from flowrun.state.protocol import StateStore


def _describe(spec: ScheduleSpec, db: StateStore, now: datetime, count: int) -> dict[str, Any]:
    upcoming: list[str] = []
    moment = now
    while len(upcoming) < count and (moment := spec.next_after(moment)) is not None:  # type: ignore[assignment]
        upcoming.append(format_date(moment, spec.zone))
    state = trigger_state.read(db, spec.key)
    last = db.last_run(spec.key)
    trigger = spec.trigger
    return {
        "flow": f"{spec.flow.namespace}/{spec.flow.id}", "trigger": trigger.id, "type": type(trigger).__name__,
        "schedule": trigger.cron if isinstance(trigger, Schedule) else "dates", "timezone": trigger.timezone,
        "recover": spec.recovery, "enabled": not (trigger.disabled or (state and state["disabled"])),
        "disabledReason": "disabled: true" if trigger.disabled else (state["disabled_reason"] if state else None),
        "next": upcoming, "lastTick": state["last_tick"] if state else None,
        "lastRun": {"date": last["date"], "executionId": last["execution_id"], "state": last["state"]} if last else None,
    }


def list_schedules(project: Any, db: StateStore, now: datetime, count: int = 5) -> tuple[list[dict[str, Any]], list[str]]:
    """One entry per schedule trigger of the project's flows, and the problems of flows that did not load."""
    from flowrun.schedule.tick import discover

    problems: list[str] = []
    return [_describe(spec, db, now, count) for spec in discover(project, problems, include_disabled=True)], problems


def flow_schedules(flow: Any, db: StateStore, now: datetime, count: int = 5) -> list[dict[str, Any]]:
    """The schedule triggers of one loaded flow, described as `list_schedules` describes them."""
    from flowrun.schedule.plan import schedule_specs

    return [_describe(spec, db, now, count) for spec in schedule_specs(flow)]


def flowrun_command() -> str:
    script = Path(sys.executable).parent / "flowrun"
    return shlex.quote(str(script)) if script.exists() else f"{shlex.quote(sys.executable)} -m flowrun"


def cron_line(project: Any) -> str:
    """The crontab line that ticks this project every minute, logging to the state dir."""
    log = project.home / "tick.log"
    return (f"* * * * * cd {shlex.quote(str(project.root))} && {flowrun_command()} tick "
            f">> {shlex.quote(str(log))} 2>&1")
