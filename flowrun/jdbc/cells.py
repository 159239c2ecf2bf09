"""Convert database cells to the values Kestra's JDBC plugins produce, and those values to JSON outputs."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Cell = Any
_PG_INTERVAL = re.compile(
    r"(?:(?P<y>[+-]?\d+) years?)?\s*(?:(?P<mo>[+-]?\d+) mons?)?\s*(?:(?P<d>[+-]?\d+) days?)?\s*"
    r"(?:(?P<sign>[+-])?(?P<h>\d+):(?P<mi>\d+):(?P<s>\d+)(?:\.\d+)?)?$"
)


class IntervalText(str):
    """A Postgres interval in the server's text form, converted to an ISO duration by the converter."""


def make_converter(time_zone: str | None) -> Callable[[Any], Cell]:
    """A function DB value -> Kestra cell: timestamps with a zone moved to `time_zone`, UUIDs as text…"""
    zone = ZoneInfo(time_zone) if time_zone else None

    def convert(value: Any) -> Cell:
        if isinstance(value, IntervalText):
            return iso_interval(str(value))
        if value is None or isinstance(value, str | bool | int | float | Decimal | bytes):
            return value
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None and zone is not None:
                return value.astimezone(zone)
            return value
        if isinstance(value, dt.date | dt.time):
            return value
        if isinstance(value, dt.timedelta):
            return iso_interval(value)
        if isinstance(value, memoryview | bytearray):
            return bytes(value)
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address
                      | ipaddress.IPv4Network | ipaddress.IPv6Network
                      | ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            return str(value)
        return str(value)

    return convert


def iso_interval(value: dt.timedelta | str) -> str:
    """An interval in Kestra's form `P{y}Y{m}M{d}DT{h}H{m}M{s}S` (from a timedelta or Postgres' text)."""
    if isinstance(value, str):
        m = _PG_INTERVAL.match(value.strip())
        if not m:
            return value
        sign = -1 if m.group("sign") == "-" else 1
        parts = [int(m.group(k) or 0) for k in ("y", "mo", "d")]
        hms = [sign * int(m.group(k) or 0) for k in ("h", "mi", "s")]
        return "P{}Y{}M{}DT{}H{}M{}S".format(*parts, *hms)
    total = int(value.total_seconds())
    days, rest = divmod(abs(total), 86400)
    sign = -1 if total < 0 else 1
    return f"P0Y0M{sign * days}DT{sign * (rest // 3600)}H{sign * (rest % 3600 // 60)}M{sign * (rest % 60)}S"


def row_dict(columns: Sequence[str], row: Sequence[Any], convert: Callable[[Any], Cell]) -> dict[str, Cell]:
    """One result row as an ordered map column -> cell (a repeated column name keeps its last value)."""
    return {name: convert(value) for name, value in zip(columns, row, strict=False)}


def to_json(value: Cell) -> Any:
    """A cell as it appears in task outputs (Kestra serialises outputs as JSON)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dt.datetime):
        return iso_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return iso_time(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def iso_time(value: dt.time) -> str:
    """Java's ISO_LOCAL_TIME: seconds always, fraction only when non-zero and without trailing zeros."""
    text = value.replace(tzinfo=None).isoformat()
    return text.rstrip("0") if "." in text else text


def iso_datetime(value: dt.datetime) -> str:
    """Java's ISO date-time forms: local without offset; zoned with `Z` or `+hh:mm`."""
    local = f"{value.date().isoformat()}T{iso_time(value.time())}"
    if value.tzinfo is None:
        return local
    offset = value.utcoffset() or dt.timedelta(0)
    if offset == dt.timedelta(0):
        return local + "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
