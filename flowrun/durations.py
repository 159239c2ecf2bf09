"""ISO-8601 durations (`PT15S`, `P1DT2H`) to and from `datetime.timedelta`."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from flowrun.errors import ExitCode, FlowrunError

_UNITS = ("W", "D", "H", "M", "S")
_NUMBER = r"[-+]?\d+(?:[.,]\d*)?"
_W, _D, _H, _M, _S = (rf"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in _UNITS)
_DURATION = re.compile(rf"(?P<sign>[-+]?)P{_W}{_D}(?P<time>T{_H}{_M}{_S})?", re.IGNORECASE)
_JAVA_FRACTION = re.compile(r"[-+]?\d+(?:[.,]\d{0,9})?")
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)
_HINT = "write an ISO-8601 duration such as PT15S, PT1H30M, P1D or P1DT2H"
#: the longest duration: any date plus or minus it stays within the years datetime can hold
MAX_DURATION = timedelta(days=366_000)


class DurationError(FlowrunError, ValueError):
    """A text is not an ISO-8601 duration flowrun understands."""

    exit_code = ExitCode.INVALID


def parse_duration(text: str, *, java: bool = False) -> timedelta:
    """Parse `PT15S`, `PT1H30M`, `P1D`, `P2W`, `PT0.5S`, `P1DT2H` (case-insensitive, optional sign).

    Years and months are rejected: they have no fixed length. With `java=True` the text follows Java's
    `Duration.parse` instead (Kestra's DURATION inputs): no weeks, a sign allowed on each part, a fraction
    only on the seconds (at most 9 digits), ASCII digits only, and no surrounding blanks.
    """
    raw = str(text) if java else str(text).strip()
    match = _DURATION.fullmatch(raw)
    parts = tuple(match.group(unit) for unit in _UNITS) if match else ()
    if match is None or not _well_formed(raw, match.group("time"), parts, java):
        if re.match(r"[-+]?P[^T]*[YM]", raw, re.IGNORECASE):
            raise DurationError(f"duration `{raw}` uses years or months, which have no fixed length",
                                hint="use days or weeks instead, e.g. P30D")
        raise DurationError(f"`{raw}` is not an ISO-8601 duration", hint=_HINT)
    seconds = sum(
        (Decimal(n.replace(",", ".")) * unit for n, unit in zip(parts, _UNIT_SECONDS, strict=True) if n),
        Decimal(0),
    )
    if abs(seconds) > Decimal(MAX_DURATION.total_seconds()):
        raise DurationError(f"duration `{raw}` is longer than 1000 years", hint=_HINT)
    delta = timedelta(seconds=float(seconds))
    return -delta if match.group("sign") == "-" else delta


def _well_formed(raw: str, time_part: str | None, parts: tuple[str | None, ...], java: bool) -> bool:
    """The rules of each grammar that the shared regular expression leaves open."""
    numbers = [n for n in parts if n]
    if not numbers or (time_part or "").upper() == "T":
        return False
    if not java:  # flowrun's own: no sign on a part, and a fraction has digits
        return not any(n[0] in "+-" or n[-1] in ".," for n in numbers)
    weeks, *others, seconds = parts
    return (raw.isascii() and weeks is None and not any(n and not n.lstrip("+-").isdigit() for n in others)
            and (seconds is None or _JAVA_FRACTION.fullmatch(seconds) is not None))


def format_duration(delta: timedelta) -> str:
    """Write a timedelta the way Java's `Duration.toString()` does: `PT1H30M`, `PT24H`, `PT0.5S`, `PT0S`."""
    if delta < timedelta(0):
        return "-" + format_duration(-delta)
    micros = delta // timedelta(microseconds=1)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or micros or text == "PT":
        text += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    return text
