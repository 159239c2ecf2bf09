"""Kestra's date filters (`date`, `dateAdd`, `timestamp*`) and `now()`: input conversion and named formats."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .datefmt import DAYS, MONTHS, format_pattern, parse_offset, parse_pattern, zone_id
from .errors import EvalError

# flowrun's "server zone" (Kestra uses ZoneId.systemDefault() when no timeZone is given).
DEFAULT_ZONE: dt.tzinfo = dt.UTC

_OFFSET_ZONE = re.compile(r"^(?:Z|(?:UTC|GMT|UT)?[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)$")
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?(:?\d{2})?)(\[[^\]]+\])?$")
_LOCAL_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")
_LOCAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def zone(name: str | None) -> dt.tzinfo:
    """`ZoneId.of(name)`: region ids (`Europe/Paris`), `UTC`, `Z`, offsets (`+02:00`, `GMT+2`)."""
    if name is None:
        return DEFAULT_ZONE
    if _OFFSET_ZONE.match(name):
        text = re.sub(r"^(UTC|GMT|UT)", "", name)
        if text == "Z":
            return dt.UTC
        sign, digits = text[0], text[1:]
        if ":" not in digits and len(digits) <= 2:
            digits = digits.zfill(2)
        return parse_offset(sign + digits)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise EvalError(f"Unknown time-zone ID: {name}") from exc


def _iso_parse(text: str) -> dt.datetime:
    base = text.split("[", 1)[0]
    frac = re.search(r"\.(\d+)", base)
    if frac and len(frac.group(1)) > 6:  # Python keeps microseconds only
        base = base.replace(frac.group(0), "." + frac.group(1)[:6], 1)
    value = dt.datetime.fromisoformat(base)
    if "[" in text and value.tzinfo is not None:
        region = text.split("[", 1)[1].rstrip("]")
        value = value.astimezone(zone(region))
    return value


def _from_string(text: str, tz: dt.tzinfo, existing: str | None) -> dt.datetime:
    if existing is not None:
        return _from_existing_format(text, tz, existing)
    if _ZONED.match(text):
        return _iso_parse(text)
    if _LOCAL_DT.match(text):
        return _iso_parse(text).replace(tzinfo=tz)
    if _LOCAL_DATE.match(text):
        return dt.datetime.fromisoformat(text).replace(tzinfo=tz)
    raise EvalError(f"Text '{text}' could not be parsed as a date")


def _from_existing_format(text: str, tz: dt.tzinfo, existing: str) -> dt.datetime:
    name = existing.lower()
    if name == "rfc_1123_date_time":
        import email.utils  # imports socket: only for the dates that need it

        return email.utils.parsedate_to_datetime(text)
    if name in _FORMATTERS or name == "iso_instant":
        return _from_string(text, tz, None)
    fields = parse_pattern(text, existing)
    if "year" not in fields or ("month" not in fields and "yday" not in fields):
        raise EvalError(f"Text '{text}' could not be parsed with pattern '{existing}': no date")
    if "yday" in fields and "month" not in fields:
        day = dt.date(fields["year"], 1, 1) + dt.timedelta(days=fields["yday"] - 1)
        fields.update(month=day.month, day=day.day)
    value = dt.datetime(
        fields["year"], fields["month"], fields.get("day", 1), fields.get("hour", 0),
        fields.get("minute", 0), fields.get("second", 0), fields.get("micro", 0),
    )  # fmt: skip
    if "tz" in fields:
        return value.replace(tzinfo=fields["tz"])
    if "zone" in fields:
        return value.replace(tzinfo=zone(fields["zone"]))
    return value.replace(tzinfo=tz)


def convert(value: Any, tz: dt.tzinfo, existing: str | None = None) -> dt.datetime:
    """Kestra `AbstractDate.convert`: datetime, date (noon), epoch seconds, or an ISO/formatted string."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, 12, tzinfo=tz)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC).astimezone(tz)
        except (OverflowError, OSError, ValueError):
            raise EvalError(f"The epoch {value} is outside the supported dates (years 1 to 9999)") from None
    if isinstance(value, str):
        return _from_string(value.strip(), tz, existing)
    raise EvalError(f"Unable to convert [{value!r}] to a date")


# --- named formats -----------------------------------------------------------------------------
def _frac_min(d: dt.datetime) -> str:
    return ("." + f"{d.microsecond:06d}".rstrip("0")) if d.microsecond else ""


def _frac_groups(d: dt.datetime) -> str:
    if not d.microsecond:
        return ""
    text = f"{d.microsecond:06d}"
    return "." + (text[:3] if text.endswith("000") else text)


def _local_time(d: dt.datetime) -> str:
    return f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}{_frac_min(d)}"


def _offset(d: dt.datetime) -> str:
    return format_pattern(d, "XXXXX")


def _region(d: dt.datetime) -> str:
    key = getattr(d.tzinfo, "key", None)
    return f"[{key}]" if key else ""


def _rfc1123(d: dt.datetime) -> str:
    off = (d.utcoffset() or dt.timedelta(0)).total_seconds()
    offset = "GMT" if off == 0 else format_pattern(d, "xx")
    return f"{DAYS[d.weekday()][:3]}, {d.day} {MONTHS[d.month - 1][:3]} {d.year} {d:%H:%M:%S} {offset}"


def _localized(style: str) -> Callable[[dt.datetime], str]:
    """`ofLocalizedDateTime` in the en_US locale (Java 21 CLDR: narrow no-break space before AM/PM)."""
    time_short = "h:mm\u202fa"
    time_long = "h:mm:ss\u202fa"
    patterns = {
        "short": f"M/d/yy, {time_short}",
        "medium": f"MMM d, y, {time_long}",
        "long": f"MMMM d, y 'at' {time_long} z",
        "full": f"EEEE, MMMM d, y 'at' {time_long} zzzz",
    }
    return lambda d: format_pattern(d, patterns[style])


_FORMATTERS: dict[str, Callable[[dt.datetime], str]] = {
    "iso": lambda d: format_pattern(d, "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"),
    "iso_sec": lambda d: format_pattern(d, "yyyy-MM-dd'T'HH:mm:ssXXX"),
    "sql": lambda d: format_pattern(d, "yyyy-MM-dd HH:mm:ss.SSSSSS"),
    "sql_seq": lambda d: format_pattern(d, "yyyy-MM-dd HH:mm:ss"),
    "iso_date_time": lambda d: f"{d.date().isoformat()}T{_local_time(d)}{_offset(d)}{_region(d)}",
    "iso_zoned_date_time": lambda d: f"{d.date().isoformat()}T{_local_time(d)}{_offset(d)}{_region(d)}",
    "iso_offset_date_time": lambda d: f"{d.date().isoformat()}T{_local_time(d)}{_offset(d)}",
    "iso_date": lambda d: d.date().isoformat() + _offset(d),
    "iso_time": lambda d: _local_time(d) + _offset(d),
    "iso_local_date": lambda d: d.date().isoformat(),
    "iso_local_time": _local_time,
    "iso_local_date_time": lambda d: f"{d.date().isoformat()}T{_local_time(d)}",
    "iso_offset_time": lambda d: _local_time(d) + _offset(d),
    "iso_instant": lambda d: d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + _frac_groups(d) + "Z",
    "iso_ordinal_date": lambda d: f"{d.year:04d}-{d.timetuple().tm_yday:03d}{_offset(d)}",
    "iso_week_date": lambda d: "{:04d}-W{:02d}-{}".format(*d.isocalendar()) + _offset(d),
    "rfc_1123_date_time": _rfc1123,
    "full": _localized("full"),
    "long": _localized("long"),
    "medium": _localized("medium"),
    "short": _localized("short"),
}


def format_date(value: dt.datetime, fmt: str | None, tz: dt.tzinfo) -> str:
    """Convert to `tz` (the formatter's zone override) and format by name or Java pattern."""
    local = value.astimezone(tz)
    named = _FORMATTERS.get(fmt or "iso")
    return named(local) if named is not None else format_pattern(local, fmt or "iso")


def _args(value: Any, timeZone: str | None, existingFormat: str | None) -> tuple[dt.datetime, dt.tzinfo]:  # noqa: N803
    tz = zone(timeZone)
    return convert(value, tz, existingFormat), tz


# --- filters and functions ---------------------------------------------------------------------
def date_filter(env: Any, value: Any, format: str | None = None, timeZone: str | None = None,  # noqa: A002,N803
                existingFormat: str | None = None, locale: str | None = None) -> str | None:  # noqa: N803
    if value is None:
        return None
    when, tz = _args(value, timeZone, existingFormat)
    return format_date(when, format, tz)


_UNITS = {
    "NANOS": dt.timedelta(microseconds=0.001), "MICROS": dt.timedelta(microseconds=1),
    "MILLIS": dt.timedelta(milliseconds=1), "SECONDS": dt.timedelta(seconds=1),
    "MINUTES": dt.timedelta(minutes=1), "HOURS": dt.timedelta(hours=1), "HALF_DAYS": dt.timedelta(hours=12),
}  # fmt: skip
_DATE_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def add_amount(when: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """`ZonedDateTime.plus(amount, ChronoUnit.valueOf(unit))`: date units on local time, others on the instant."""
    if unit in _UNITS:
        return (when.astimezone(dt.UTC) + _UNITS[unit] * amount).astimezone(when.tzinfo)
    if unit in _DATE_UNITS:
        local = when.replace(tzinfo=None) + dt.timedelta(days=_DATE_UNITS[unit] * amount)
        return local.replace(tzinfo=when.tzinfo)
    if unit in _MONTH_UNITS:
        months = when.year * 12 + when.month - 1 + _MONTH_UNITS[unit] * amount
        year, month = divmod(months, 12)
        day = min(when.day, calendar.monthrange(year, month + 1)[1])
        return when.replace(year=year, month=month + 1, day=day)
    raise EvalError(f"No enum constant java.time.temporal.ChronoUnit.{unit}")


def date_add_filter(env: Any, value: Any, amount: int, unit: str, format: str | None = None,  # noqa: A002
                    timeZone: str | None = None, existingFormat: str | None = None,  # noqa: N803
                    locale: str | None = None) -> str | None:
    if value is None:
        return None
    when, tz = _args(value, timeZone, existingFormat)
    return format_date(add_amount(when, int(amount), str(unit)), format, tz)


def _epoch(when: dt.datetime) -> tuple[int, int]:
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    seconds = delta.days * 86400 + delta.seconds
    return seconds, delta.microseconds * 1000


def timestamp_filter(env: Any, value: Any, timeZone: str | None = None,  # noqa: N803
                     existingFormat: str | None = None) -> int | None:  # noqa: N803
    if value is None:
        return None
    return _epoch(_args(value, timeZone, existingFormat)[0])[0]


def timestamp_milli_filter(env: Any, value: Any, timeZone: str | None = None,  # noqa: N803
                           existingFormat: str | None = None) -> int | None:  # noqa: N803
    if value is None:
        return None
    seconds, nanos = _epoch(_args(value, timeZone, existingFormat)[0])
    return seconds * 1000 + nanos // 1_000_000


def timestamp_micro_filter(env: Any, value: Any, timeZone: str | None = None,  # noqa: N803
                           existingFormat: str | None = None) -> str | None:  # noqa: N803
    """Kestra's quirk, kept: seconds converted to *nanos* plus the micro part (a string)."""
    if value is None:
        return None
    seconds, nanos = _epoch(_args(value, timeZone, existingFormat)[0])
    return str(seconds * 1_000_000_000 + nanos // 1000)


def timestamp_nano_filter(env: Any, value: Any, timeZone: str | None = None,  # noqa: N803
                          existingFormat: str | None = None) -> str | None:  # noqa: N803
    if value is None:
        return None
    seconds, nanos = _epoch(_args(value, timeZone, existingFormat)[0])
    return str(seconds * 1_000_000_000 + nanos)


def now_function(env: Any, format: str | None = None, timeZone: str | None = None,  # noqa: A002,N803
                 locale: str | None = None) -> str:
    tz = zone(timeZone)
    return format_date(dt.datetime.now(dt.UTC), format, tz)


__all__ = ["convert", "format_date", "zone", "zone_id", "date_filter", "date_add_filter", "now_function"]
