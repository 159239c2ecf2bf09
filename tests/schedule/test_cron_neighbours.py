"""Cron.next_after / previous_before take one croniter step when no UTC-offset change lies near (the backfill's
trigger.next and trigger.previous of every date); the result is always the one of the full walk over the
DST margin, DST days included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowrun.schedule.cron import Cron

CRONS = ["* * * * *", "*/7 * * * *", "0 * * * *", "30 1 * * *", "0 2 * * *", "15 2,3 * * *", "0 9 * * 1-5",
         "0 0 1 * *", "0 0 1 1 *"]
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
#: around Europe's and the US's 2019 spring-forward and fall-back changes, and a quiet day
DAYS = [datetime(2019, 3, 10, tzinfo=UTC), datetime(2019, 3, 31, tzinfo=UTC), datetime(2019, 10, 27, tzinfo=UTC),
        datetime(2019, 11, 3, tzinfo=UTC), datetime(2019, 4, 7, tzinfo=UTC), datetime(2019, 6, 15, tzinfo=UTC)]


def _moments() -> list[datetime]:
    return [day - timedelta(hours=6) + timedelta(minutes=37 * i, seconds=(i % 3) * 20)
            for day in DAYS for i in range(0, 60, 3)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("text", CRONS)
def test_one_step_neighbours_are_the_walked_ones(text: str, zone: str) -> None:
    cron = Cron.parse(text, timezone=zone)
    for moment in _moments():
        assert cron.previous_before(moment) == cron._previous_by_walking(moment), (text, zone, moment)
        assert cron.next_after(moment) == next(cron.occurrences(moment), None), (text, zone, moment)


def test_a_minutely_neighbour_takes_one_step() -> None:
    cron = Cron.parse("* * * * *")
    moment = datetime(2019, 1, 1, 0, 30, tzinfo=UTC)
    assert cron._neighbour(moment, forward=False) == datetime(2019, 1, 1, 0, 29, tzinfo=UTC)
    assert cron._neighbour(moment, forward=True) == datetime(2019, 1, 1, 0, 31, tzinfo=UTC)
