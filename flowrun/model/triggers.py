"""Trigger and condition models (Schedule, ScheduleOnDates, Flow, Webhook, http.Trigger), validated at load time."""

from __future__ import annotations

from typing import Any

from flowrun.model.base import Strict
from flowrun.model.lite import field_validator, model_validator

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

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        from flowrun.schedule.cron import Cron, CronError

        fields = len(value.split())
        try:
            Cron.parse(value, with_seconds=fields == 6)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check_schedule(self) -> Schedule:
        from flowrun.schedule.cron import Cron, CronError

        try:
            Cron.parse(self.cron, self.with_seconds, self.timezone)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        _check_schedule_options(self)
        return self


class ScheduleOnDates(Trigger):
    dates: list[str] | str
    timezone: str = "UTC"
    inputs: dict[str, Any] | None = None
    recover_missed_schedules: str | None = None

    @model_validator(mode="after")
    def _check_dates(self) -> ScheduleOnDates:
        _check_schedule_options(self)
        return self


class FlowTrigger(Trigger):
    states: list[str] | None = None
    inputs: dict[str, Any] | None = None
    preconditions: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_flow(self) -> FlowTrigger:
        from flowrun.schedule.conditions import EXECUTION_CONDITIONS, ConditionError, check_conditions

        try:
            check_conditions(self.conditions, EXECUTION_CONDITIONS)
        except ConditionError as exc:
            raise ValueError(str(exc)) from None
        return self


class Webhook(Trigger):
    key: str
    inputs: dict[str, Any] | None = None
    wait: bool | None = None
    return_outputs: bool | None = None


class HttpTrigger(Trigger):
    """Kestra's polling `http.Trigger`: `flowrun tick` calls `uri` every `interval` (PT1M); a response for which
    `responseCondition` is truthy starts the flow once (one execution per distinct status code and body)."""

    uri: str
    method: str = "GET"
    body: Any = None
    params: dict[str, Any] | None = None
    form_data: dict[str, Any] | None = None
    content_type: str = "application/json"
    headers: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    ssl_options: dict[str, Any] | None = None
    encrypt_body: bool | str = False
    interval: str = "PT1M"
    response_condition: str = "{{ response.statusCode < 400 }}"
    inputs: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_http(self) -> HttpTrigger:
        from flowrun.durations import parse_duration

        if self.conditions:
            raise ValueError("`conditions` on an http.Trigger are not supported by flowrun: "
                             "test the response in `responseCondition` instead")
        if parse_duration(self.interval).total_seconds() <= 0:
            raise ValueError(f"interval `{self.interval}` must be a positive duration")
        from flowrun.tasks.http import HttpOptions

        HttpOptions.model_validate(self.options or {})
        return self


def _check_schedule_options(trigger: Any) -> None:
    """Time zone, recovery policy, lateMaximumDelay and schedule conditions of a schedule trigger."""
    from flowrun.durations import parse_duration
    from flowrun.schedule.conditions import (
        EXECUTION_CONDITIONS,
        SCHEDULE_CONDITIONS,
        ConditionError,
        check_conditions,
    )
    from flowrun.schedule.cron import CronError, parse_zone

    try:
        parse_zone(trigger.timezone)
        check_conditions((trigger.conditions or []) + (getattr(trigger, "schedule_conditions", None) or []),
                         {**SCHEDULE_CONDITIONS, **EXECUTION_CONDITIONS})
    except (CronError, ConditionError) as exc:
        raise ValueError(str(exc)) from None
    recover = trigger.recover_missed_schedules
    if recover is not None and recover.upper() not in ("ALL", "LAST", "NONE"):
        raise ValueError(f"recoverMissedSchedules `{recover}` must be ALL, LAST or NONE")
    delay = getattr(trigger, "late_maximum_delay", None)
    if delay:
        parse_duration(delay)


TRIGGERS: dict[str, type[Trigger]] = {
    f"{CORE}.trigger.Schedule": Schedule,
    f"{CORE}.trigger.ScheduleOnDates": ScheduleOnDates,
    f"{CORE}.trigger.Flow": FlowTrigger,
    f"{CORE}.trigger.Webhook": Webhook,
    f"{CORE}.http.Trigger": HttpTrigger,
    "io.kestra.plugin.fs.http.Trigger": HttpTrigger,
    "io.kestra.core.models.triggers.types.Schedule": Schedule,
    "io.kestra.core.models.triggers.types.Flow": FlowTrigger,
    "io.kestra.core.models.triggers.types.Webhook": Webhook,
}

