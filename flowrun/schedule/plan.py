"""One schedulable trigger of a flow: its dates (conditions applied), trigger variables, inputs and labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flowrun.errors import UsageError
from flowrun.model.triggers import Schedule, ScheduleOnDates
from flowrun.schedule.conditions import SCHEDULE_CONDITIONS, ConditionContext, ConditionError, build_condition
from flowrun.schedule.cron import Cron, CronError, format_date, parse_zone

RECOVERY = ("ALL", "LAST", "NONE")
#: how far next/previous look for a date that satisfies the conditions (Kestra: ten years)
_SEARCH_YEARS = 10
#: and at most this many candidate dates (a minutely cron would otherwise test millions)
_SEARCH_LIMIT = 2000
#: the years a schedule date may fall in: the searches above must stay within Python's year 1..9999
YEARS = (1900, 8999)


def utc_text(moment: datetime) -> str:
    """The storage form of a schedule date: UTC, seconds precision, `Z`."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScheduleSpec:
    """A Schedule or ScheduleOnDates trigger, bound to its flow."""

    def __init__(self, flow: Any, trigger: Schedule | ScheduleOnDates) -> None:
        self.flow, self.trigger = flow, trigger
        self.zone = parse_zone(trigger.timezone)
        self.cron = Cron.parse(trigger.cron, trigger.with_seconds, trigger.timezone) \
            if isinstance(trigger, Schedule) else None
        raw = (trigger.conditions or []) + (getattr(trigger, "schedule_conditions", None) or [])
        self.conditions = [c for c in (build_condition(r) for r in raw) if type(c).__name__ in SCHEDULE_CONDITIONS]
        self._dates: list[datetime] | None = None

    # -- identity ---------------------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str, str]:
        return self.flow.namespace, self.flow.id, self.trigger.id

    @property
    def path(self) -> Path:
        return Path(self.flow.path).resolve()

    @property
    def recovery(self) -> str:
        return (self.trigger.recover_missed_schedules or "ALL").upper()

    @property
    def late_maximum_delay(self) -> timedelta | None:
        delay = getattr(self.trigger, "late_maximum_delay", None)
        if not delay:
            return None
        from flowrun.durations import parse_duration

        return parse_duration(delay)

    # -- dates ------------------------------------------------------------------------------------------
    def _raw_dates(self) -> list[datetime]:
        if self._dates is None:
            assert isinstance(self.trigger, ScheduleOnDates)
            from flowrun.templating import render_value

            raw = render_value(self.trigger.dates, {"flow": {"id": self.flow.id, "namespace": self.flow.namespace}})
            items = raw if isinstance(raw, list) else [raw]
            self._dates = sorted({parse_moment(str(item), self.zone).replace(microsecond=0) for item in items})
        return self._dates

    def _plain(self, after: datetime, until: datetime | None) -> Iterator[datetime]:
        if self.cron is not None:
            yield from self.cron.occurrences(after, until)
            return
        for moment in self._raw_dates():
            if moment > after and (until is None or moment <= until):
                yield moment

    def _holds(self, moment: datetime) -> bool:
        if not self.conditions:
            return True
        ctx = ConditionContext(self._condition_variables(moment))
        try:
            return all(condition.test(ctx) for condition in self.conditions)
        except ConditionError as exc:
            raise UsageError(f"trigger `{self.trigger.id}` of {self.flow.namespace}/{self.flow.id}: {exc}") from None

    def occurrences(self, after: datetime, until: datetime | None = None) -> Iterator[datetime]:
        """The trigger's dates t with after < t <= until whose conditions hold, in order."""
        horizon = (until or after) + timedelta(days=366 * _SEARCH_YEARS)
        for moment in self._plain(after, until):
            if moment > horizon:
                return
            if self._holds(moment):
                yield moment

    def next_after(self, moment: datetime) -> datetime | None:
        if not self.conditions:
            return self.cron.next_after(moment) if self.cron is not None else next(self._plain(moment, None), None)
        horizon = moment + timedelta(days=366 * _SEARCH_YEARS)
        for count, candidate in enumerate(self._plain(moment, horizon)):
            if count >= _SEARCH_LIMIT:
                return None
            if self._holds(candidate):
                return candidate
        return None

    def previous_before(self, moment: datetime) -> datetime | None:
        floor = moment - timedelta(days=366 * _SEARCH_YEARS)
        for _ in range(_SEARCH_LIMIT):
            if moment <= floor:
                break
            if self.cron is not None:
                candidate = self.cron.previous_before(moment)
            else:
                candidate = max((d for d in self._raw_dates() if d < moment), default=None)
            if candidate is None or self._holds(candidate):
                return candidate
            moment = candidate
        return None

    def is_occurrence(self, moment: datetime) -> bool:
        return self.next_after(moment - timedelta(seconds=1)) == moment.astimezone(UTC).replace(microsecond=0)

    @property
    def _conditions_read_neighbours(self) -> bool:
        """Whether a condition mentions trigger.next/previous (computing them for every candidate is costly)."""
        text = repr([c.model_dump() for c in self.conditions])
        return "next" in text or "previous" in text

    # -- what an execution gets ----------------------------------------------------------------------
    def _condition_variables(self, moment: datetime) -> dict[str, Any]:
        plain: dict[str, Any] = {"date": format_date(moment, self.zone)}
        if self.cron is not None and self._conditions_read_neighbours:
            nxt, prev = self.cron.next_after(moment), self.cron.previous_before(moment)
            plain.update({k: format_date(v, self.zone) for k, v in (("next", nxt), ("previous", prev)) if v})
        return {"trigger": plain, "schedule": plain, "flow": {"id": self.flow.id, "namespace": self.flow.namespace}}

    def variables(self, moment: datetime) -> dict[str, Any]:
        """`trigger.*` as Kestra sets it: date, and for cron schedules next and previous (conditions applied)."""
        result: dict[str, Any] = {"date": format_date(moment, self.zone)}
        if self.cron is None:
            return result
        nxt, prev = self.next_after(moment), self.previous_before(moment)
        if nxt is not None:
            result["next"] = format_date(nxt, self.zone)
        if prev is not None:
            result["previous"] = format_date(prev, self.zone)
        return result

    def inputs(self, variables: dict[str, Any] | None) -> dict[str, Any]:
        return dict(render_for(self.flow, self.trigger.id, self.trigger.inputs or {}, variables))

    def labels(self, variables: dict[str, Any] | None) -> dict[str, str]:
        return trigger_labels(self.flow, self.trigger, variables)


def render_for(flow: Any, trigger_id: str, value: Any, variables: dict[str, Any] | None) -> Any:
    """Render a trigger's inputs or labels with `flow` and `trigger` (also `schedule`) in the context."""
    from flowrun.templating import TemplateError, render_value

    context: dict[str, Any] = {"flow": {"id": flow.id, "namespace": flow.namespace}}
    if variables is not None:
        context.update(trigger=variables, schedule=variables)
    try:
        return render_value(value, context)
    except TemplateError as exc:
        raise UsageError(f"trigger `{trigger_id}`: cannot render {value!r}: {exc.message}") from None


def trigger_labels(flow: Any, trigger: Any, variables: dict[str, Any] | None) -> dict[str, str]:
    raw = trigger.labels or {}
    pairs = raw.items() if isinstance(raw, dict) else [(i.get("key"), i.get("value")) for i in raw]
    return {str(k): str(render_for(flow, trigger.id, v, variables)) for k, v in pairs}


def parse_moment(text: str, zone: Any, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time; naive values are in `zone`. A bare date is its day's start (or end)."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"`{text}` is not an ISO-8601 date or date-time",
                         hint="write 2019-03-01 or 2019-03-01T09:00:00 (optionally with Z or +01:00)") from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise UsageError(f"`{text}` is outside the years that flowrun schedules ({YEARS[0]} to {YEARS[1]})",
                         hint="write a date such as 2019-03-01")
    if len(text) == 10:
        day = moment.replace(tzinfo=zone)
        return (day + timedelta(days=1) - timedelta(microseconds=1)) if end_of_day else day
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def schedule_specs(flow: Any, trigger_ids: list[str] | None = None) -> list[ScheduleSpec]:
    """The flow's Schedule/ScheduleOnDates triggers (all, or the named ones) as specs."""
    triggers = [t for t in flow.triggers if isinstance(t, Schedule | ScheduleOnDates)]
    if trigger_ids:
        known = {t.id: t for t in triggers}
        missing = [i for i in trigger_ids if i not in known]
        if missing:
            raise UsageError(f"flow {flow.namespace}/{flow.id} has no schedule trigger `{missing[0]}`",
                             hint=f"its schedule triggers: {', '.join(known) or 'none'}")
        triggers = [known[i] for i in trigger_ids]
    try:
        return [ScheduleSpec(flow, t) for t in triggers]
    except (CronError, ConditionError) as exc:
        raise UsageError(f"flow {flow.namespace}/{flow.id}: {exc}") from None
