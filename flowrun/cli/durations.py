"""Durations given on the command line (`--ttl`, `--older-than`): parsed, or a usage error naming the option."""

from __future__ import annotations

from datetime import timedelta

from flowrun.errors import UsageError


def duration_option(text: str | None, option: str, *, positive: bool = False) -> timedelta | None:
    """The ISO-8601 duration given to `option` (None when not given). A bad one is a usage error (exit 2)
    naming the option, not an invalid flow (exit 3): it is the command line that is wrong."""
    from flowrun.durations import DurationError, parse_duration

    if text is None:
        return None
    try:
        delta = parse_duration(text)
    except DurationError as exc:
        raise UsageError(f"{option}: {exc.message}", hint=exc.hint) from None
    if positive and delta <= timedelta(0):
        raise UsageError(f"{option} must be a positive duration, got `{text}`", hint="e.g. PT15M, P1D")
    return delta
