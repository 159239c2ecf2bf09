"""Outcomes as values: `capture`, the one place the executor catches exceptions, and an attempt's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from flowrun.errors import TaskError, TaskKilled
from flowrun.model.execution import State
from flowrun.plain import Plain

T = TypeVar("T")


class Failure(Plain):
    """An exception `capture` caught, as a value.

    `kind`: "error" (a TaskError: message, evidence and any outputs the task still gave), "killed" (TaskKilled),
    "interrupted" (Ctrl-C or SIGTERM) or "bug" (any other exception: `message` names its type).
    """

    __slots__ = ("kind", "message", "evidence", "outputs", "own_message")
    FIELDS = __slots__

    def __init__(self, kind: Literal["error", "killed", "interrupted", "bug"], message: str = "",
                 evidence: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None,
                 own_message: str | None = None) -> None:
        self.kind = kind
        self.message = message
        self.evidence: dict[str, Any] = {} if evidence is None else evidence
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        #: the exception's own `message` (a FlowrunError's, say), shown bare where a flowable fails
        self.own_message = own_message


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


class AttemptResult(Plain):
    """How one attempt ended: its state, the outputs it gave and, when it failed, the error and its evidence."""

    __slots__ = ("state", "outputs", "error", "evidence", "interrupted", "lost")
    FIELDS = __slots__

    def __init__(self, state: State, outputs: dict[str, Any] | None = None, error: str | None = None,
                 evidence: dict[str, Any] | None = None, interrupted: bool = False, lost: bool = False) -> None:
        self.state = state
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        self.error = error
        self.evidence: dict[str, Any] = {} if evidence is None else evidence
        #: Ctrl-C or SIGTERM reached the attempt: the whole execution stops
        self.interrupted = interrupted
        #: the Celery worker running it stopped beating (scale-out): it is resubmitted
        self.lost = lost


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
