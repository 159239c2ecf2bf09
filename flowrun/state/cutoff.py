"""A purge cutoff as a UTC moment: an ISO-8601 date, date-time, or duration counted back from now."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from flowrun.durations import DurationError, parse_duration
from flowrun.errors import ExitCode, FlowrunError

ACCEPTED = ("an ISO date (2026-01-31), an ISO date-time (2026-01-31T12:00:00, optionally with Z or +01:00), "
            "or an ISO-8601 duration back from now (P30D, PT12H, P1DT6H)")
_ZONE_ID = re.compile(r"^(?P<moment>[^\[]+)\[(?P<zone>[^\]]+)\]$")


class CutoffError(FlowrunError):
    """A text that is no date, date-time or duration (callers add `ACCEPTED` to the hint)."""

    exit_code = ExitCode.USAGE


def parse_moment(text: str) -> datetime:
    """An ISO date or date-time as an aware datetime. Naive values are local time; a bare date is its midnight.

    Java's `2026-01-31T12:00:00+01:00[Europe/Paris]` form (a ZonedDateTime) is accepted too.
    """
    raw = str(text).strip()
    zone = None
    match = _ZONE_ID.match(raw)
    if match:
        raw, zone = match["moment"], match["zone"]
    try:
        moment = datetime.fromisoformat(raw) if "T" in raw.upper() or " " in raw else _midnight(raw)
    except ValueError:
        raise CutoffError(f"`{text}` is not an ISO date, date-time or duration") from None
    if moment.tzinfo is None and zone:
        moment = moment.replace(tzinfo=_zone(zone, text))
    return (moment.astimezone() if moment.tzinfo is None else moment).astimezone(UTC)


def parse_cutoff(text: str, now: datetime | None = None) -> datetime:
    """`--before`: a date, a date-time, or a positive duration subtracted from `now`."""
    raw = str(text).strip()
    if raw[:1].upper() == "P" or raw[:2].upper() in ("-P", "+P"):
        try:
            delta = parse_duration(raw)
        except DurationError as exc:
            raise CutoffError(exc.message) from None
        if delta < timedelta(0):
            raise CutoffError(f"duration `{text}` is negative; a duration counts back from now, e.g. P30D")
        return (now or datetime.now(UTC)).astimezone(UTC) - delta
    return parse_moment(raw)


def _midnight(raw: str) -> datetime:
    day = date.fromisoformat(raw)
    return datetime(day.year, day.month, day.day)


def _zone(name: str, text: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CutoffError(f"`{text}` names an unknown time zone `{name}`") from None


def utc_stamp(moment: datetime) -> str:
    """The fixed-width UTC text the state DB stores dates as (`2026-01-31T12:00:00.000000Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
