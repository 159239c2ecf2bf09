"""Retry policies (constant, exponential, random): when the next attempt may start, if at all."""

from __future__ import annotations

from typing import Any

from flowrun.model.execution import TaskRun, utcnow


def _seconds(text: str | None) -> float:
    from flowrun.durations import parse_duration

    return parse_duration(text).total_seconds() if text else 0.0


def next_delay(policy: Any, taskrun: TaskRun) -> float | None:
    """Seconds to wait before the next attempt, or None when no attempt is left.

    `maxAttempt` counts every attempt, the first included. `maxDuration` is measured from the first
    attempt's start. Exponential backoff grows as interval * delayFactor^(n-1), capped at maxInterval.
    """
    attempts = len(taskrun.attempts)
    if policy.max_attempt is not None and attempts >= policy.max_attempt:
        return None
    kind = policy.type.lower()
    if kind == "constant":
        delay = _seconds(policy.interval)
    elif kind == "exponential":
        factor = policy.delay_factor or 2.0
        delay = _seconds(policy.interval) * factor ** (attempts - 1)
        if policy.max_interval:
            delay = min(delay, _seconds(policy.max_interval))
    elif kind == "random":
        import random

        low, high = _seconds(policy.min_interval), _seconds(policy.max_interval)
        delay = random.uniform(low, high) if high > low else low
    else:
        return None
    if policy.max_duration:
        first = taskrun.attempts[0].start_date
        elapsed = (utcnow() - first).total_seconds()
        if elapsed + delay > _seconds(policy.max_duration):
            return None
    if policy.max_attempt is None and not policy.max_duration:
        return None
    return delay


#: how many times an attempt whose Celery worker died is resubmitted when the task has no `retry` policy
MAX_RESUBMITS = 2


def resubmit_delay(lost: bool, taskrun: TaskRun) -> float | None:
    """Without a retry policy: an attempt lost with its worker is resubmitted at once (as Kestra's worker
    resubmission), at most MAX_RESUBMITS times; any other failure is final."""
    if lost and sum(1 for attempt in taskrun.attempts if attempt.lost) <= MAX_RESUBMITS:
        return 0.0
    return None
