"""Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm`) translated to Python: format and parse."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

from .errors import EvalError

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_LETTERS = set("GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZp")

Piece = tuple[str, Any]  # ("lit", text) or (letter, count)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> tuple[Piece, ...]:
    """Split a pattern into literal text and (letter, count) fields, Java-style quoting."""
    pieces: list[Piece] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            end = i + 1
            text = ""
            while end < n:
                if pattern[end] == "'":
                    if end + 1 < n and pattern[end + 1] == "'":
                        text, end = text + "'", end + 2
                        continue
                    break
                text, end = text + pattern[end], end + 1
            if end >= n:
                raise EvalError(f"Pattern ends with an incomplete string literal: {pattern}")
            pieces.append(("lit", text if end > i + 1 else "'"))
            i = end + 1
        elif c.isascii() and c.isalpha():
            if c not in _LETTERS:
                raise EvalError(f"Unknown pattern letter: {c}")
            j = i
            while j < n and pattern[j] == c:
                j += 1
            pieces.append((c, j - i))
            i = j
        elif c in "[]":
            i += 1  # optional sections: every field is available when formatting
        elif c in "#{}":
            raise EvalError(f"Pattern includes reserved character: '{c}'")
        else:
            pieces.append(("lit", c))
            i += 1
    return tuple(pieces)


def format_pattern(value: dt.datetime, pattern: str) -> str:
    """Format an aware datetime with a Java pattern (English names, ISO week fields)."""
    return "".join(text if kind == "lit" else _field(value, kind, text) for kind, text in compile_pattern(pattern))


def _num(value: int, count: int) -> str:
    return str(value).zfill(count)


def _text(full: str, count: int) -> str:
    return full if count == 4 else full[0] if count == 5 else full[:3]


def offset_text(value: dt.datetime, colon: bool, seconds: bool, zulu: bool, hour_only: bool = False) -> str:
    total = int((value.utcoffset() or dt.timedelta(0)).total_seconds())
    if total == 0 and zulu:
        return "Z"
    sign = "+" if total >= 0 else "-"
    hours, rest = divmod(abs(total), 3600)
    minutes, secs = divmod(rest, 60)
    sep = ":" if colon else ""
    if hour_only and not minutes:
        return f"{sign}{hours:02d}"
    text = f"{sign}{hours:02d}{sep}{minutes:02d}"
    return text + (f"{sep}{secs:02d}" if seconds or secs else "")


def zone_id(value: dt.datetime) -> str:
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    return offset_text(value, True, False, True)


def _field(d: dt.datetime, letter: str, count: int) -> str:
    fn = _FIELDS.get(letter)
    if fn is None:
        raise EvalError(f"Unsupported pattern letter: {letter}")
    return fn(d, count)


def _year(d: dt.datetime, count: int) -> str:
    return _num(d.year % 100, 2) if count == 2 else _num(d.year, count)


def _month(d: dt.datetime, count: int) -> str:
    return _num(d.month, count) if count <= 2 else _text(MONTHS[d.month - 1], count)


def _quarter(d: dt.datetime, count: int) -> str:
    q = (d.month - 1) // 3 + 1
    if count <= 2:
        return _num(q, count)
    return f"Q{q}" if count == 3 else f"{q}{['st', 'nd', 'rd', 'th'][q - 1]} quarter"


def _weekday(d: dt.datetime, count: int) -> str:
    return _text(DAYS[d.weekday()], count)


def _local_weekday(d: dt.datetime, count: int) -> str:
    if count <= 2:
        return _num((d.weekday() + 1) % 7 + 1, count)  # en_US: Sunday is day 1
    return _weekday(d, count)


def _fraction(d: dt.datetime, count: int) -> str:
    return f"{d.microsecond:06d}000"[:count].ljust(count, "0")


def _hour12(d: dt.datetime, count: int) -> str:
    return _num(d.hour % 12 or 12, count)


def _zone_name(d: dt.datetime, count: int) -> str:
    name = d.tzname() or zone_id(d)
    return "UTC" if name in ("UTC", "Z", "+00:00") else name


def _offset_x(d: dt.datetime, count: int, zulu: bool) -> str:
    if count == 1:
        return offset_text(d, False, False, zulu, hour_only=True)
    return offset_text(d, count in (3, 5), count >= 4, zulu)


def _offset_z(d: dt.datetime, count: int) -> str:
    if count <= 3:
        return offset_text(d, False, False, False)
    if count == 4:
        total = (d.utcoffset() or dt.timedelta(0)).total_seconds()
        return "GMT" if total == 0 else "GMT" + offset_text(d, True, False, False)
    return offset_text(d, True, False, True)


def _offset_o(d: dt.datetime, count: int) -> str:
    total = int((d.utcoffset() or dt.timedelta(0)).total_seconds())
    if total == 0:
        return "GMT"
    if count == 4:
        return "GMT" + offset_text(d, True, False, False)
    sign = "+" if total >= 0 else "-"
    hours, rest = divmod(abs(total), 3600)
    return f"GMT{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


_FIELDS: dict[str, Callable[[dt.datetime, int], str]] = {
    "G": lambda d, c: "AD" if c <= 3 else "Anno Domini" if c == 4 else "A",
    "u": _year, "y": _year,
    "Y": lambda d, c: _num(d.isocalendar()[0] % 100, 2) if c == 2 else _num(d.isocalendar()[0], c),
    "D": lambda d, c: _num(d.timetuple().tm_yday, c),
    "M": _month, "L": _month,
    "d": lambda d, c: _num(d.day, c),
    "Q": _quarter, "q": _quarter,
    "w": lambda d, c: _num(d.isocalendar()[1], c),
    "W": lambda d, c: _num((d.day + dt.date(d.year, d.month, 1).weekday()) // 7 + 1, c),
    "E": _weekday, "e": _local_weekday, "c": _local_weekday,
    "F": lambda d, c: _num((d.day - 1) // 7 + 1, c),
    "a": lambda d, c: "AM" if d.hour < 12 else "PM",
    "h": _hour12,
    "K": lambda d, c: _num(d.hour % 12, c),
    "k": lambda d, c: _num(d.hour or 24, c),
    "H": lambda d, c: _num(d.hour, c),
    "m": lambda d, c: _num(d.minute, c),
    "s": lambda d, c: _num(d.second, c),
    "S": _fraction,
    "A": lambda d, c: _num(((d.hour * 60 + d.minute) * 60 + d.second) * 1000 + d.microsecond // 1000, c),
    "n": lambda d, c: _num(d.microsecond * 1000, c),
    "N": lambda d, c: _num((((d.hour * 60 + d.minute) * 60 + d.second) * 10**6 + d.microsecond) * 1000, c),
    "V": lambda d, c: zone_id(d),
    "v": _zone_name, "z": _zone_name,
    "O": _offset_o,
    "X": lambda d, c: _offset_x(d, c, True),
    "x": lambda d, c: _offset_x(d, c, False),
    "Z": _offset_z,
}  # fmt: skip


# --- parsing with a pattern (`existingFormat`) -------------------------------------------------
_OFFSET_RE = r"Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?"


def _group(letter: str, count: int, index: int) -> str:
    name = f"{letter}{index}"
    if letter in "yuY":
        body = r"\d{2}" if count == 2 else r"[+-]?\d{1,9}"
    elif letter in "ML" and count >= 3:
        body = "|".join(MONTHS + [m[:3] for m in MONTHS])
    elif letter in "Ee" and count >= 3 or letter == "c" and count >= 3:
        body = "|".join(DAYS + [d[:3] for d in DAYS])
    elif letter == "a":
        body = "AM|PM|am|pm"
    elif letter == "S":
        body = rf"\d{{{count}}}"
    elif letter in "XxZ":
        body = _OFFSET_RE + "|GMT(?:[+-]\\d{1,2}(?::\\d{2})?)?"
    elif letter in "Vz":
        body = r"[A-Za-z][A-Za-z0-9_/+\-]*"
    elif letter == "G":
        body = "AD|BC"
    else:
        body = rf"\d{{1,{max(count, 2)}}}" if count == 1 else rf"\d{{{count}}}"
    return f"(?P<{name}>{body})"


@functools.lru_cache(maxsize=128)
def _parse_regex(pattern: str) -> tuple[re.Pattern[str], tuple[Piece, ...]]:
    pieces = compile_pattern(pattern)
    parts = [re.escape(v) if k == "lit" else _group(k, v, i) for i, (k, v) in enumerate(pieces)]
    return re.compile("".join(parts) + r"\Z", re.I), pieces


def parse_pattern(text: str, pattern: str) -> dict[str, Any]:
    """Fields found in `text` by a Java pattern: year, month, day, hour, minute, second, micro, tz."""
    regex, pieces = _parse_regex(pattern)
    m = regex.match(text.strip())
    if m is None:
        raise EvalError(f"Text '{text}' could not be parsed with pattern '{pattern}'")
    fields: dict[str, Any] = {}
    pm: bool | None = None
    for i, (kind, count) in enumerate(pieces):
        if kind == "lit":
            continue
        raw = m.group(f"{kind}{i}")
        if kind in "yuY":
            fields["year"] = int(raw) + (2000 if count == 2 else 0)
        elif kind in "ML":
            fields["month"] = int(raw) if raw.isdigit() else _name_index(raw, MONTHS) + 1
        elif kind in "dHhKkmsSXxZVzaD":
            _parse_field(fields, kind, raw)
        if kind == "a":
            pm = raw.upper() == "PM"
    if pm is not None and "hour12" in fields:
        fields["hour"] = fields.pop("hour12") % 12 + (12 if pm else 0)
    elif "hour12" in fields:
        fields["hour"] = fields.pop("hour12")
    return fields


def _name_index(raw: str, names: list[str]) -> int:
    low = raw.lower()
    return next(i for i, name in enumerate(names) if name.lower() == low or name[:3].lower() == low)


def _parse_field(fields: dict[str, Any], kind: str, raw: str) -> None:
    if kind == "d":
        fields["day"] = int(raw)
    elif kind == "D":
        fields["yday"] = int(raw)
    elif kind in "Hk":
        fields["hour"] = int(raw) % 24
    elif kind in "hK":
        fields["hour12"] = int(raw)
    elif kind == "m":
        fields["minute"] = int(raw)
    elif kind == "s":
        fields["second"] = int(raw)
    elif kind == "S":
        fields["micro"] = int((raw + "000000")[:6])
    elif kind in "XxZ":
        fields["tz"] = parse_offset(raw)
    elif kind in "Vz":
        fields["zone"] = raw


def parse_offset(raw: str) -> dt.tzinfo:
    if raw in ("Z", "GMT", "UTC"):
        return dt.UTC
    raw = raw.removeprefix("GMT")
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours = int(digits[:2]) if len(digits) >= 2 else int(digits)
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes, seconds=seconds))
