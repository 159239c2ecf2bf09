"""Trigger conditions (schedule and execution conditions): their schemas and how each one is tested."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import datetime, time, timedelta
from typing import Any

from flowrun.errors import ExitCode, FlowrunError
from flowrun.model.base import Strict
from flowrun.model.lite import Field

PREFIXES = ("io.kestra.plugin.core.condition.", "io.kestra.core.models.conditions.types.")
DAYS = tuple(calendar.day_name[i].upper() for i in range(7))  # MONDAY .. SUNDAY
ORDINALS = {"FIRST": 0, "SECOND": 1, "THIRD": 2, "FOURTH": 3}
TRIGGER_DATE = "{{ trigger.date }}"


class ConditionError(FlowrunError):
    """A condition that is malformed, or that cannot be evaluated."""

    exit_code = ExitCode.INVALID


@dataclass
class ExecutionFacts:
    """What execution conditions look at: the execution that just ended."""

    namespace: str
    flow_id: str
    state: str
    labels: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConditionContext:
    variables: dict[str, Any]
    execution: ExecutionFacts | None = None

    def render(self, text: str) -> str:
        from flowrun.templating import TemplateError, render

        try:
            return str(render(text, self.variables))
        except TemplateError as exc:
            raise ConditionError(f"cannot render `{text}`: {exc.message}") from None

    def date(self, text: str) -> datetime:
        rendered = self.render(text).strip()
        try:
            return datetime.fromisoformat(rendered)
        except ValueError:
            raise ConditionError(f"`{rendered}` is not an ISO-8601 date-time") from None


class Condition(Strict):
    type: str

    def test(self, ctx: ConditionContext) -> bool:
        """Whether the condition holds (each concrete condition type defines it)."""
        raise TypeError(f"condition {self.type} cannot be evaluated")  # pragma: no cover


def _day(name: str) -> int:
    if name.upper() not in DAYS:
        raise ConditionError(f"unknown day of week `{name}` (use one of {', '.join(DAYS)})")
    return DAYS.index(name.upper())


class DayWeek(Condition):
    """The date falls on `dayOfWeek` (MONDAY … SUNDAY)."""

    date: str = TRIGGER_DATE
    day_of_week: str

    def test(self, ctx: ConditionContext) -> bool:
        return ctx.date(self.date).weekday() == _day(ctx.render(self.day_of_week))


class DayWeekInMonth(Condition):
    """The date is the FIRST, SECOND, THIRD, FOURTH or LAST `dayOfWeek` of its month."""

    date: str = TRIGGER_DATE
    day_of_week: str
    day_in_month: str

    def test(self, ctx: ConditionContext) -> bool:
        day = ctx.date(self.date).date()
        weekday, which = _day(ctx.render(self.day_of_week)), ctx.render(self.day_in_month).upper()
        first = Date(day.year, day.month, 1)
        first += timedelta(days=(weekday - first.weekday()) % 7)
        if which == "LAST":
            last_day = Date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
            return day == last_day - timedelta(days=(last_day.weekday() - weekday) % 7)
        if which not in ORDINALS:
            raise ConditionError(f"dayInMonth `{which}` must be FIRST, SECOND, THIRD, FOURTH or LAST")
        return day == first + timedelta(weeks=ORDINALS[which])


class Weekend(Condition):
    """The date is a Saturday or a Sunday."""

    date: str = TRIGGER_DATE

    def test(self, ctx: ConditionContext) -> bool:
        return ctx.date(self.date).weekday() >= 5


def _between(value: Any, after: Any, before: Any, inclusive: bool) -> bool:
    if after is None and before is None:
        raise ConditionError("the condition needs `after`, `before` or both")
    if inclusive:
        return (after is None or value >= after) and (before is None or value <= before)
    return (after is None or value > after) and (before is None or value < before)


class DateTimeBetween(Condition):
    """The date is within [after, before] (both ends included; either may be omitted)."""

    date: str = TRIGGER_DATE
    after: str | None = None
    before: str | None = None

    def test(self, ctx: ConditionContext) -> bool:
        after = ctx.date(self.after) if self.after else None
        before = ctx.date(self.before) if self.before else None
        for bound in (after, before):
            if bound is not None and bound.tzinfo is None:
                raise ConditionError(f"`{bound.isoformat()}` needs a zone offset, e.g. Z or +02:00")
        return _between(ctx.date(self.date), after, before, inclusive=True)


def _offset_seconds(text: str) -> float:
    """An ISO time with offset (`16:00:00+02:00`) as seconds since UTC midnight, as Java compares OffsetTime."""
    try:
        moment = time.fromisoformat(text.strip())
    except ValueError:
        raise ConditionError(f"`{text}` is not an ISO-8601 time with offset, e.g. 16:00:00+02:00") from None
    offset = moment.utcoffset() or timedelta(0)
    return moment.hour * 3600 + moment.minute * 60 + moment.second - offset.total_seconds()


class TimeBetween(Condition):
    """The time of day of the date is strictly between `after` and `before` (times with offset)."""

    date: str = TRIGGER_DATE
    after: str | None = None
    before: str | None = None

    def test(self, ctx: ConditionContext) -> bool:
        current = ctx.date(self.date)
        seconds = _offset_seconds(current.timetz().isoformat())
        after = _offset_seconds(ctx.render(self.after)) if self.after else None
        before = _offset_seconds(ctx.render(self.before)) if self.before else None
        return _between(seconds, after, before, inclusive=False)


class Not(Condition):
    """True when none of `conditions` is true."""

    conditions: list[dict[str, Any]] = Field(min_length=1)

    def test(self, ctx: ConditionContext) -> bool:
        return not any(build_condition(raw).test(ctx) for raw in self.conditions)


class Or(Condition):
    """True when at least one of `conditions` is true."""

    conditions: list[dict[str, Any]] = Field(min_length=1)

    def test(self, ctx: ConditionContext) -> bool:
        return any(build_condition(raw).test(ctx) for raw in self.conditions)


class Expression(Condition):
    """True unless the rendered expression is blank or `false`."""

    expression: str

    def test(self, ctx: ConditionContext) -> bool:
        rendered = ctx.render(self.expression).strip()
        return rendered not in ("", "false")


def _execution(ctx: ConditionContext) -> ExecutionFacts:
    if ctx.execution is None:
        raise ConditionError("this condition only applies to Flow triggers (it tests an execution)")
    return ctx.execution


class ExecutionFlow(Condition):
    """The execution belongs to flow `namespace`/`flowId`."""

    namespace: str
    flow_id: str

    def test(self, ctx: ConditionContext) -> bool:
        execution = _execution(ctx)
        return (execution.namespace, execution.flow_id) == (self.namespace, self.flow_id)


class ExecutionNamespace(Condition):
    """The execution's namespace EQUALS (default), has the PREFIX or the SUFFIX `namespace`."""

    namespace: str
    comparison: str | None = None
    prefix: bool = False

    def test(self, ctx: ConditionContext) -> bool:
        actual = _execution(ctx).namespace
        comparison = (self.comparison or ("PREFIX" if self.prefix else "EQUALS")).upper()
        checks = {"EQUALS": actual == self.namespace, "PREFIX": actual.startswith(self.namespace),
                  "SUFFIX": actual.endswith(self.namespace)}
        if comparison not in checks:
            raise ConditionError(f"comparison `{comparison}` must be EQUALS, PREFIX or SUFFIX")
        return checks[comparison]


class ExecutionStatus(Condition):
    """The execution's state is in `in` and not in `notIn`."""

    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None

    def test(self, ctx: ConditionContext) -> bool:
        state = _execution(ctx).state
        return (self.in_ is None or state in self.in_) and (self.not_in is None or state not in self.not_in)


class ExecutionLabels(Condition):
    """The execution carries every one of `labels` (a map or a list of key/value)."""

    labels: dict[str, Any] | list[dict[str, Any]]

    def test(self, ctx: ConditionContext) -> bool:
        wanted = (list(self.labels.items()) if isinstance(self.labels, dict)
                  else [(item.get("key"), item.get("value")) for item in self.labels])
        present = set(_execution(ctx).labels)
        return all((str(k), str(v)) in present for k, v in wanted)


class ExecutionOutputs(Condition):
    """The expression, rendered with the ended execution's `trigger.outputs`, is true."""

    expression: str

    def test(self, ctx: ConditionContext) -> bool:
        if not _execution(ctx).outputs:
            return False
        return ctx.render(self.expression).strip() not in ("", "false")


SCHEDULE_CONDITIONS: dict[str, type[Condition]] = {
    cls.__name__: cls for cls in (DayWeek, DayWeekInMonth, Weekend, DateTimeBetween, TimeBetween, Not, Or, Expression)
}
EXECUTION_CONDITIONS: dict[str, type[Condition]] = {
    cls.__name__: cls for cls in (ExecutionFlow, ExecutionNamespace, ExecutionStatus, ExecutionLabels,
                                  ExecutionOutputs, Expression, Not, Or)
}
ALL_CONDITIONS = {**SCHEDULE_CONDITIONS, **EXECUTION_CONDITIONS}


def condition_class(type_name: str) -> type[Condition]:
    """The class of a condition type, by full name, legacy alias (`…types.DayWeekCondition`) or short name."""
    short = type_name
    for prefix in PREFIXES:
        short = short.removeprefix(prefix)
    if short == "VariableCondition":
        short = "Expression"
    short = short.removesuffix("Condition") if short.endswith("Condition") and short != "Condition" else short
    cls = ALL_CONDITIONS.get(short)
    if cls is None:
        raise ConditionError(f"condition type `{type_name}` is not supported by flowrun "
                             f"(supported: {', '.join(sorted(ALL_CONDITIONS))})")
    return cls


def build_condition(raw: Any) -> Condition:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ConditionError("a condition must be a mapping with a `type`")
    cls = condition_class(raw["type"])
    from pydantic import ValidationError

    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConditionError(f"condition {cls.__name__}: {where}: {first['msg']}") from None


def check_conditions(raws: list[Any] | None, allowed: dict[str, type[Condition]]) -> None:
    """Build every condition (recursively), raising ConditionError on the first malformed one."""
    for raw in raws or []:
        condition = build_condition(raw)
        if type(condition).__name__ not in allowed:
            raise ConditionError(f"condition {type(condition).__name__} does not apply to this trigger")
        if isinstance(condition, Not | Or):
            check_conditions(condition.conditions, allowed)


def all_true(raws: list[Any] | None, ctx: ConditionContext) -> bool:
    """True when every condition holds (an empty list holds)."""
    return all(build_condition(raw).test(ctx) for raw in raws or [])
