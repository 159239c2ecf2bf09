"""Amazon Ion text files, one value per line, as Kestra stores query results: a streaming writer and reader."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_KEYWORDS = {"null", "true", "false", "nan"}


class Instant(dt.datetime):
    """An aware datetime written as a plain Ion timestamp, as Kestra's Ion mapper writes a `java.time.Instant`."""


def dumps(value: Any) -> str:
    """One Python value as Ion text on a single line (the way Kestra's Ion mapper writes it)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def write_lines(path: Path, values: Iterable[Any]) -> int:
    """Write `values` to `path`, one per line; returns how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        for value in values:
            f.write(dumps(value))
            f.write("\n")
            count += 1
    return count


class IonLineWriter:
    """Append values to an open text file, one Ion value per line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0

    def write(self, value: Any) -> None:
        self.stream.write(dumps(value))
        self.stream.write("\n")
        self.count += 1


def iter_values(path: Path) -> Iterator[Any]:
    """Read an Ion text file lazily, yielding plain Python values (annotations dropped)."""
    from amazon.ion import simpleion

    with open(path, encoding="utf-8") as f:
        pending = ""
        for line in f:
            if not line.strip() and not pending:
                continue
            pending += line
            try:
                values = simpleion.loads(pending, single_value=False)
            except Exception:
                continue  # a value spread over several lines: read on
            pending = ""
            for v in values:
                yield to_python(v)
        if pending.strip():
            for v in simpleion.loads(pending, single_value=False):
                yield to_python(v)


def read_values(path: Path) -> list[Any]:
    """Every value of an Ion text file as plain Python values."""
    return list(iter_values(path))


def to_python(value: Any) -> Any:
    """An amazon-ion value as a plain Python value (IonPy* wrappers and annotations removed)."""
    from amazon.ion.core import IonType

    ion_type = getattr(value, "ion_type", None)
    if value is None or ion_type == IonType.NULL:
        return None
    if isinstance(value, Mapping):
        return {str(k): to_python(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_python(v) for v in value]
    if isinstance(value, bool) or ion_type == IonType.BOOL:
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, dt.datetime):
        precision = getattr(value, "precision", None)
        if precision is not None and precision.name in ("YEAR", "MONTH", "DAY"):
            return dt.date(value.year, value.month, value.day)
        return dt.datetime.fromisoformat(value.isoformat())
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    return value


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, Decimal):
        out.append(_decimal(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for k, (key, item) in enumerate(value.items()):
            if k:
                out.append(",")
            out.append(_field(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for k, item in enumerate(value):
            if k:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Instant):
        from flowrun.jdbc.cells import iso_datetime

        out.append(iso_datetime(value))
    elif isinstance(value, dt.datetime):
        _write_datetime(value, out)
    elif isinstance(value, dt.date):
        out.append(value.isoformat())
    elif isinstance(value, dt.time):
        from flowrun.jdbc.cells import iso_time

        out.append(f'LocalTime::"{iso_time(value)}"')
    elif isinstance(value, bytes | bytearray | memoryview):
        out.append("{{" + base64.b64encode(bytes(value)).decode("ascii") + "}}")
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


def _write_datetime(value: dt.datetime, out: list[str]) -> None:
    from flowrun.jdbc.cells import iso_datetime

    text = iso_datetime(value)
    if value.tzinfo is None:
        out.append(f'LocalDateTime::"{text}"')
        return
    key = getattr(value.tzinfo, "key", None)
    out.append(f'ZonedDateTime::"{text}[{key}]"' if key else f'ZonedDateTime::"{text}"')


def _field(name: str) -> str:
    if _SYMBOL.match(name) and name not in _KEYWORDS:
        return name
    return "'" + json.dumps(name, ensure_ascii=False)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    text = repr(value).replace("e+", "e")
    return text if "e" in text else text + "e0"


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        return _float(float(value))
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        return f"{'-' if sign else ''}{''.join(map(str, digits))}d{exponent}"
    text = format(value, "f")
    return text if "." in text else text + "."
