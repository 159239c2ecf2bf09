"""Trigger and condition models (Schedule, ScheduleOnDates, Flow, Webhook), validated at load time."""

from __future__ import annotations

from typing import Any

from flowrun.tasks.base import Strict

CORE = "io.kestra.plugin.core"


class Trigger(Strict):
    id: str
    type: str
    description: str | None = None
    conditions: list[dict[str, Any]] | None = None
    disabled: bool = False
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    stop_after: list[str] | None = None
    log_level: str | None = None
    log_to_file: bool = False
    worker_group: dict[str, Any] | None = None
    min_log_level: str | None = None


class Schedule(Trigger):
    cron: str
    with_seconds: bool = False
    timezone: str = "UTC"
    inputs: dict[str, Any] | None = None
    schedule_conditions: list[dict[str, Any]] | None = None
    recover_missed_schedules: str | None = None
    late_maximum_delay: str | None = None
    backfill: dict[str, Any] | None = None
    interval: None = None


class ScheduleOnDates(Trigger):
    dates: list[str] | str
    timezone: str = "UTC"
    inputs: dict[str, Any] | None = None
    recover_missed_schedules: str | None = None


class FlowTrigger(Trigger):
    states: list[str] | None = None
    inputs: dict[str, Any] | None = None
    preconditions: dict[str, Any] | None = None


class Webhook(Trigger):
    key: str
    inputs: dict[str, Any] | None = None
    wait: bool | None = None
    return_outputs: bool | None = None


TRIGGERS: dict[str, type[Trigger]] = {
    f"{CORE}.trigger.Schedule": Schedule,
    f"{CORE}.trigger.ScheduleOnDates": ScheduleOnDates,
    f"{CORE}.trigger.Flow": FlowTrigger,
    f"{CORE}.trigger.Webhook": Webhook,
    "io.kestra.core.models.triggers.types.Schedule": Schedule,
    "io.kestra.core.models.triggers.types.Flow": FlowTrigger,
    "io.kestra.core.models.triggers.types.Webhook": Webhook,
}

