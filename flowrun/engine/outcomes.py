"""Outcomes as values: `capture`, the one place the executor catches exceptions, and an attempt's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flowrun.errors import TaskError, TaskKilled
from flowrun.model.execution import State

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """An exception `capture` caught, as a value.

    `kind`: "error" (a TaskError: message, evidence and any outputs the task still gave), "killed" (TaskKilled),
    "interrupted" (Ctrl-C or SIGTERM) or "bug" (any other exception: `message` names its type).
    """

    kind: Literal["error", "killed", "interrupted", "bug"]
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: the exception's own `message` (a FlowrunError's, say), shown bare where a flowable fails
    own_message: str | None = None


def capture(call: Callable[[], T], *, interrupts: bool = True, errors: bool = True) -> T | Failure:
    """Call `call`; an exception becomes a `Failure`. `interrupts`: catch Ctrl-C; `errors`: catch exceptions."""
    caught = ((KeyboardInterrupt,) if interrupts else ()) + ((Exception,) if errors else ())
    try:
        return call()
    except caught as exc:
        return failure_of(exc)


def failure_of(exc: BaseException) -> Failure:
    if isinstance(exc, TaskError):
        return Failure("error", exc.message, exc.evidence, exc.outputs or {})
    if isinstance(exc, TaskKilled):
        return Failure("killed")
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted")
    return Failure("bug", f"{type(exc).__name__}: {exc}", own_message=getattr(exc, "message", None))


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt ended: its state, the outputs it gave and, when it failed, the error and its evidence."""

    state: State
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Ctrl-C or SIGTERM reached the attempt: the whole execution stops
    interrupted: bool = False
    #: the Celery worker running it stopped beating (scale-out): it is resubmitted
    lost: bool = False


def attempt_result(outcome: dict[str, Any] | Failure, timed_out: bool, timeout: str | None) -> AttemptResult:
    """The result of an attempt from what its `run` returned (or raised) and whether its timeout expired."""
    timeout_error = f"timed out after {timeout}"
    if not isinstance(outcome, Failure):
        if timed_out:  # the task finished, but too late: its outputs stay
            return AttemptResult(State.FAILED, outcome, timeout_error)
        return AttemptResult(State.SUCCESS, outcome)
    if outcome.kind in ("killed", "interrupted"):
        if timed_out:
            return AttemptResult(State.FAILED, error=timeout_error)
        return AttemptResult(State.KILLED, interrupted=outcome.kind == "interrupted")
    return AttemptResult(State.FAILED, outcome.outputs, outcome.message, outcome.evidence)
