"""Schedule and execution conditions: each type alone, and as they filter a trigger's dates and next/previous."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from schedule_harness import covers

from flowrun.model.triggers import Schedule
from flowrun.schedule.conditions import (
    ConditionContext,
    ConditionError,
    ExecutionFacts,
    build_condition,
    condition_class,
)
from flowrun.schedule.plan import ScheduleSpec

C = "io.kestra.plugin.core.condition."


def _holds(raw: dict, date: str, execution: ExecutionFacts | None = None, **variables: object) -> bool:
    context = ConditionContext({"trigger": {"date": date}, **variables}, execution)
    return build_condition(raw).test(context)


def _spec(*conditions: dict, cron: str = "0 11 * * *", timezone: str = "UTC") -> ScheduleSpec:
    flow = type("F", (), {"id": "f", "namespace": "n", "path": "f.yaml"})()
    trigger = Schedule.model_validate({"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": cron,
                                       "timezone": timezone, "conditions": list(conditions)})
    return ScheduleSpec(flow, trigger)


def _window(spec: ScheduleSpec, start: str, end: str) -> list[str]:
    low, high = datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC)
    return [spec.variables(t)["date"] for t in spec.occurrences(low, high)]


@covers("DayWeek")
def test_day_week() -> None:
    raw = {"type": C + "DayWeek", "dayOfWeek": "MONDAY"}
    assert _holds(raw, "2019-01-07T11:00:00Z") and not _holds(raw, "2019-01-08T11:00:00Z")
    assert _window(_spec(raw), "2019-01-01", "2019-01-22") == [
        "2019-01-07T11:00:00Z", "2019-01-14T11:00:00Z", "2019-01-21T11:00:00Z"]


@covers("DayWeekInMonth")
def test_day_week_in_month() -> None:
    first = {"type": C + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}
    last = {"type": C + "DayWeekInMonth", "dayOfWeek": "FRIDAY", "dayInMonth": "LAST"}
    third = {"type": C + "DayWeekInMonth", "dayOfWeek": "SUNDAY", "dayInMonth": "THIRD"}
    assert _holds(first, "2019-04-01T11:00:00Z") and not _holds(first, "2019-04-08T11:00:00Z")
    assert _holds(last, "2019-05-31T11:00:00Z") and not _holds(last, "2019-05-24T11:00:00Z")
    assert _holds(third, "2019-09-15T11:00:00Z")
    spec = _spec(first)
    assert _window(spec, "2019-01-01", "2019-04-30") == [
        "2019-01-07T11:00:00Z", "2019-02-04T11:00:00Z", "2019-03-04T11:00:00Z", "2019-04-01T11:00:00Z"]
    variables = spec.variables(datetime(2019, 2, 4, 11, tzinfo=UTC))
    assert variables["previous"] == "2019-01-07T11:00:00Z" and variables["next"] == "2019-03-04T11:00:00Z"


@covers("Weekend")
def test_weekend() -> None:
    raw = {"type": C + "Weekend"}
    assert _holds(raw, "2019-01-05T11:00:00Z") and _holds(raw, "2019-01-06T23:00:00+01:00")
    assert not _holds(raw, "2019-01-07T00:30:00+01:00")


@covers("DateTimeBetween")
def test_date_time_between_is_inclusive() -> None:
    raw = {"type": C + "DateTimeBetween", "after": "2019-01-02T11:00:00Z", "before": "2019-01-04T11:00:00Z"}
    assert _window(_spec(raw), "2019-01-01", "2019-01-06") == [
        "2019-01-02T11:00:00Z", "2019-01-03T11:00:00Z", "2019-01-04T11:00:00Z"]
    only_after = {"type": C + "DateTimeBetween", "after": "2019-01-05T00:00:00+01:00"}
    assert _holds(only_after, "2019-01-05T00:00:00+01:00") and not _holds(only_after, "2019-01-04T22:00:00Z")
    with pytest.raises(ConditionError, match="after"):
        _holds({"type": C + "DateTimeBetween"}, "2019-01-05T00:00:00Z")


@covers("TimeBetween")
def test_time_between_compares_times_with_offsets_strictly() -> None:
    raw = {"type": C + "TimeBetween", "after": "16:00:00+02:00", "before": "20:00:00+02:00"}
    assert _holds(raw, "2019-06-01T15:00:00Z") and not _holds(raw, "2019-06-01T14:00:00Z")
    assert _holds(raw, "2019-06-01T17:00:00+02:00") and not _holds(raw, "2019-06-01T20:00:00+02:00")
    spec = _spec(raw, cron="0 * * * *")
    assert _window(spec, "2019-06-01", "2019-06-01T23:00:00") == [
        "2019-06-01T15:00:00Z", "2019-06-01T16:00:00Z", "2019-06-01T17:00:00Z"]


@covers("Not")
def test_not() -> None:
    raw = {"type": C + "Not", "conditions": [{"type": C + "DayWeek", "dayOfWeek": "SUNDAY"},
                                             {"type": C + "DayWeek", "dayOfWeek": "SATURDAY"}]}
    assert _window(_spec(raw), "2019-01-04", "2019-01-08T12:00:00") == [
        "2019-01-04T11:00:00Z", "2019-01-07T11:00:00Z", "2019-01-08T11:00:00Z"]


@covers("Or")
def test_or() -> None:
    raw = {"type": C + "Or", "conditions": [{"type": C + "DayWeek", "dayOfWeek": "MONDAY"},
                                            {"type": C + "Weekend"}]}
    assert _window(_spec(raw), "2019-01-03", "2019-01-08") == [
        "2019-01-05T11:00:00Z", "2019-01-06T11:00:00Z", "2019-01-07T11:00:00Z"]


@covers("Expression")
def test_expression_uses_pebble() -> None:
    raw = {"type": C + "Expression", "expression": "{{ trigger.date | date('d') | number > 28 }}"}
    assert _window(_spec(raw), "2019-01-25", "2019-02-03") == [
        "2019-01-29T11:00:00Z", "2019-01-30T11:00:00Z", "2019-01-31T11:00:00Z"]
    assert not _holds({"type": C + "Expression", "expression": "  "}, "2019-01-01T00:00:00Z")


def test_execution_conditions() -> None:
    facts = ExecutionFacts("company.team", "upstream", "FAILED", [("env", "prod")], {"rows": 3})
    assert _holds({"type": C + "ExecutionFlow", "namespace": "company.team", "flowId": "upstream"}, "", facts)
    assert _holds({"type": C + "ExecutionNamespace", "namespace": "company", "comparison": "PREFIX"}, "", facts)
    assert not _holds({"type": C + "ExecutionNamespace", "namespace": "company"}, "", facts)
    assert _holds({"type": C + "ExecutionStatus", "in": ["FAILED", "KILLED"]}, "", facts)
    assert not _holds({"type": C + "ExecutionStatus", "notIn": ["FAILED"]}, "", facts)
    assert _holds({"type": C + "ExecutionLabels", "labels": {"env": "prod"}}, "", facts)
    assert _holds({"type": C + "ExecutionOutputs", "expression": "{{ trigger.outputs.rows > 2 }}"}, "", facts,
                  trigger={"outputs": {"rows": 3}})


def test_legacy_aliases_and_unknown_types() -> None:
    assert condition_class("io.kestra.core.models.conditions.types.DayWeekCondition").__name__ == "DayWeek"
    assert condition_class("io.kestra.core.models.conditions.types.VariableCondition").__name__ == "Expression"
    with pytest.raises(ConditionError, match="not supported"):
        condition_class(C + "PublicHoliday")
    with pytest.raises(ConditionError, match="dayOfWeek"):
        build_condition({"type": C + "DayWeek"})
