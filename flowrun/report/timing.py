"""How long things took, as every view prints it: stored ISO-8601 dates parsed, seconds as `1.23s` or `2m05s`."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def parse_date(value: Any) -> datetime | None:
    """An ISO-8601 date as stored in the state DB (`...Z` or with an offset); None when absent."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def seconds_text(seconds: float) -> str:
    """`1.23s` under a minute, else `2m05s`."""
    return f"{seconds:.2f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def span_text(start: Any, end: Any) -> str:
    """The time from one stored date to another, or `-` when either is missing."""
    first, last = parse_date(start), parse_date(end)
    return "-" if first is None or last is None else seconds_text((last - first).total_seconds())
