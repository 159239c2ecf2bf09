"""ISO-8601 durations (`PT15S`, `P1DT2H`) to and from `datetime.timedelta`."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from flowrun.errors import ExitCode, FlowrunError

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"([-+]?)P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)
_HINT = "write an ISO-8601 duration such as PT15S, PT1H30M, P1D or P1DT2H"
#: the longest duration: any date plus or minus it stays within the years datetime can hold
MAX_DURATION = timedelta(days=366_000)


class DurationError(FlowrunError, ValueError):
    """A text is not an ISO-8601 duration flowrun understands."""

    exit_code = ExitCode.INVALID


def parse_duration(text: str) -> timedelta:
    """Parse `PT15S`, `PT1H30M`, `P1D`, `P2W`, `PT0.5S`, `P1DT2H` (case-insensitive, optional sign).

    Years and months are rejected: they have no fixed length.
    """
    raw = str(text).strip()
    match = _DURATION.fullmatch(raw)
    if match is None or not any(match.groups()[1:]) or raw.upper().endswith("T"):
        if re.match(r"[-+]?P[^T]*[YM]", raw, re.IGNORECASE):
            raise DurationError(f"duration `{raw}` uses years or months, which have no fixed length",
                                hint="use days or weeks instead, e.g. P30D")
        raise DurationError(f"`{raw}` is not an ISO-8601 duration", hint=_HINT)
    sign, *numbers = match.groups()
    seconds = sum(
        (Decimal(n.replace(",", ".")) * unit for n, unit in zip(numbers, _UNIT_SECONDS, strict=True) if n),
        Decimal(0),
    )
    if seconds > Decimal(MAX_DURATION.total_seconds()):
        raise DurationError(f"duration `{raw}` is longer than 1000 years", hint=_HINT)
    delta = timedelta(seconds=float(seconds))
    return -delta if sign == "-" else delta


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
