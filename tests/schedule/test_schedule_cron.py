"""Cron occurrences: 5 and 6 fields, nicknames, time zones and DST, validation at load time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import Project
from schedule_harness import covers, schedule_flow

from flowrun.schedule.cron import Cron, CronError, format_date

PARIS = ZoneInfo("Europe/Paris")


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def _dates(cron: Cron, start: datetime, end: datetime) -> list[str]:
    return [format_date(t, cron.zone) for t in cron.occurrences(start, end)]


def test_five_fields_in_utc() -> None:
    cron = Cron.parse("0 9 1 * *")
    assert _dates(cron, _utc(2019, 1, 1), _utc(2019, 3, 1, 9)) == [
        "2019-01-01T09:00:00Z", "2019-02-01T09:00:00Z", "2019-03-01T09:00:00Z"]
    assert cron.previous_before(_utc(2019, 1, 1, 9)) == _utc(2018, 12, 1, 9)
    assert cron.is_occurrence(_utc(2019, 2, 1, 9)) and not cron.is_occurrence(_utc(2019, 2, 1, 10))


@pytest.mark.parametrize(("nickname", "first"), [
    ("@yearly", "2020-01-01T00:00:00Z"), ("@annually", "2020-01-01T00:00:00Z"),
    ("@monthly", "2019-02-01T00:00:00Z"), ("@weekly", "2019-01-06T00:00:00Z"),
    ("@daily", "2019-01-02T00:00:00Z"), ("@midnight", "2019-01-02T00:00:00Z"), ("@hourly", "2019-01-01T01:00:00Z"),
])
def test_nicknames(nickname: str, first: str) -> None:
    cron = Cron.parse(nickname)
    moment = cron.next_after(_utc(2019, 1, 1))
    assert moment is not None and format_date(moment, cron.zone) == first


def test_with_seconds_takes_six_fields_seconds_first() -> None:
    cron = Cron.parse("*/20 0 0 * * *", with_seconds=True)
    assert _dates(cron, _utc(2019, 1, 1), _utc(2019, 1, 1, 0, 1)) == [
        "2019-01-01T00:00:20Z", "2019-01-01T00:00:40Z"]


def test_sunday_is_0_and_7() -> None:
    assert Cron.parse("0 0 * * 0").next_after(_utc(2019, 1, 1)) == Cron.parse("0 0 * * 7").next_after(_utc(2019, 1, 1))


@pytest.mark.parametrize(("text", "message"), [
    ("61 * * * *", "invalid cron"), ("* * *", "has 3 fields, expected 5"),
    ("0 0 * * * *", "set `withSeconds: true`"), ("@fortnightly", "unknown cron nickname"),
    ("0 0 30 2 *", "never fires"),
])
def test_invalid_expressions(text: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        Cron.parse(text)


def test_unknown_time_zone() -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        Cron.parse("* * * * *", timezone="Mars/Olympus")


def test_dates_are_rendered_in_the_trigger_zone() -> None:
    assert format_date(_utc(2019, 1, 1, 9), ZoneInfo("UTC")) == "2019-01-01T09:00:00Z"
    assert format_date(_utc(2019, 1, 1, 9), PARIS) == "2019-01-01T10:00:00+01:00"
    assert format_date(_utc(2019, 1, 1, 9), ZoneInfo("Europe/London")) == "2019-01-01T09:00:00Z"
    assert format_date(_utc(2019, 7, 1, 9), ZoneInfo("America/New_York")) == "2019-07-01T05:00:00-04:00"


@covers("DST")
def test_dst_spring_forward_shifts_a_skipped_time_once() -> None:
    daily = Cron.parse("30 2 * * *", timezone="Europe/Paris")
    assert _dates(daily, _utc(2019, 3, 29), _utc(2019, 4, 1, 12)) == [
        "2019-03-29T02:30:00+01:00", "2019-03-30T02:30:00+01:00", "2019-03-31T03:30:00+02:00",
        "2019-04-01T02:30:00+02:00"]
    hourly = Cron.parse("0 * * * *", timezone="Europe/Paris")
    assert _dates(hourly, _utc(2019, 3, 30, 23, 30), _utc(2019, 3, 31, 2)) == [
        "2019-03-31T01:00:00+01:00", "2019-03-31T03:00:00+02:00", "2019-03-31T04:00:00+02:00"]


@covers("DST")
def test_dst_fall_back_runs_fixed_times_once_and_hourly_jobs_in_both_passes() -> None:
    daily = Cron.parse("30 2 * * *", timezone="Europe/Paris")
    assert _dates(daily, _utc(2019, 10, 26), _utc(2019, 10, 28, 12)) == [
        "2019-10-26T02:30:00+02:00", "2019-10-27T02:30:00+02:00", "2019-10-28T02:30:00+01:00"]
    hourly = Cron.parse("0 * * * *", timezone="Europe/Paris")
    assert _dates(hourly, _utc(2019, 10, 26, 22, 30), _utc(2019, 10, 27, 2, 30)) == [
        "2019-10-27T01:00:00+02:00", "2019-10-27T02:00:00+02:00", "2019-10-27T02:00:00+01:00",
        "2019-10-27T03:00:00+01:00"]
    assert hourly.previous_before(_utc(2019, 10, 27, 1, 30)) == _utc(2019, 10, 27, 1)


def test_validate_reports_a_bad_schedule_with_its_location(project: Project) -> None:
    path = schedule_flow(project, "bad", """  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 25 * * *"
  - id: zoned
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    timezone: Mars/Olympus
  - id: policy
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    recoverMissedSchedules: SOMETIMES
""")
    result = project.cli("validate", str(path))
    assert result.code == 3
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: trigger `nightly`: cron", result.stderr)
    assert "invalid cron expression `0 25 * * *`" in result.stderr
    assert "unknown time zone `Mars/Olympus`" in result.stderr
    assert "recoverMissedSchedules `SOMETIMES` must be ALL, LAST or NONE" in result.stderr
