"""Java-style stringification of template values: `toString`, Jackson compact JSON, Java doubles and dates."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .limits import MAX_CHARS, charge, check_chars

_UTC_NAMES = frozenset({"UTC", "Z", "GMT", "Etc/UTC"})


def java_double(value: float) -> str:
    """`Double.toString`: plain between 1e-3 and 1e7, else `d.dddE±n`; `NaN`, `Infinity`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exp = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exp, int)
    exponent = len("".join(map(str, digit_tuple))) + exp - 1  # scientific exponent
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            frac = digits[exponent + 1 :] or "0"
        else:
            whole, frac = "0", "0" * (-exponent - 1) + digits
        return f"{prefix}{whole}.{frac}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _fraction(micros: int, always_seconds: bool, seconds: int) -> str:
    if micros:
        text = f"{micros:06d}"
        return f":{seconds:02d}.{text[:3]}" if text.endswith("000") else f":{seconds:02d}.{text}"
    if seconds or always_seconds:
        return f":{seconds:02d}"
    return ""


def _offset(value: dt.datetime) -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    if not offset:
        return "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    hours, rest = divmod(abs(total), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + (f":{secs:02d}" if secs else "")


def is_utc(value: dt.datetime) -> bool:
    """An aware datetime in UTC stands for a Java `Instant`."""
    tz = value.tzinfo
    if tz is dt.UTC:
        return True
    key = getattr(tz, "key", None)
    return key in _UTC_NAMES


def java_datetime(value: dt.datetime | dt.date | dt.time, always_seconds: bool = False) -> str:
    """`Instant`/`ZonedDateTime`/`LocalDateTime`/`LocalDate`/`LocalTime` `toString()`."""
    if isinstance(value, dt.datetime):
        base = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}"
        if value.tzinfo is None:
            return base + _fraction(value.microsecond, always_seconds, value.second)
        if is_utc(value):  # Instant.toString always prints seconds
            return base + _fraction(value.microsecond, True, value.second) + "Z"
        text = base + _fraction(value.microsecond, always_seconds, value.second) + _offset(value)
        key = getattr(value.tzinfo, "key", None)
        return text + (f"[{key}]" if key else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    base = f"{value.hour:02d}:{value.minute:02d}"
    return base + _fraction(value.microsecond, always_seconds, value.second)


def java_str(value: Any) -> str:
    """Java `String.valueOf`: `null`, `true`, `[a, b]`, `{k=v}`, Java doubles and dates."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return _joined("{", [f"{java_str(k)}={java_str(v)}" for k, v in value.items()], "}")
    if isinstance(value, list | tuple | set | frozenset):
        return _joined("[", [java_str(v) for v in value], "]")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return java_datetime(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _joined(start: str, parts: list[str], end: str) -> str:
    charge(len(parts))
    size = sum(map(len, parts)) + 2 * len(parts)
    if size > MAX_CHARS:
        check_chars(size, "the text of a list or map")
    return start + ", ".join(parts) + end


def to_output(value: Any) -> str:
    """What `{{ value }}` prints in string mode: null → "", maps and lists → compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return to_json(value)
    return java_str(value)


def to_json(value: Any) -> str:
    """Jackson-like compact JSON (no spaces, non-ASCII kept, Java number and date forms)."""
    parts: list[str] = []
    _write_json(value, parts, [0])
    return "".join(parts)


def _write_json(value: Any, out: list[str], size: list[int]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > 255:
            charge(len(text) >> 8)
        size[0] += len(text)
        if size[0] > MAX_CHARS:
            check_chars(size[0], "the JSON text")
        out.append(text)
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(java_double(value) if math.isfinite(value) else json.dumps(java_double(value)))
    elif isinstance(value, Mapping):
        charge(len(value))
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            _write_json(java_str(key), out, size)
            out.append(":")
            _write_json(item, out, size)
        out.append("}")
    elif isinstance(value, list | tuple | set | frozenset):
        charge(len(value))
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write_json(item, out, size)
        out.append("]")
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        out.append(json.dumps(json_datetime(value)))
    else:
        _write_json(java_str(value), out, size)


def json_datetime(value: dt.datetime | dt.date | dt.time) -> str:
    """Jackson JavaTimeModule form: ISO with seconds always written, offset instead of zone id."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None and not is_utc(value):
        text = java_datetime(value, always_seconds=True)
        return text.split("[", 1)[0]
    return java_datetime(value, always_seconds=True)
