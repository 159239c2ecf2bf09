"""Resource bounds of template rendering: the step budget, size caps and the caller's cancel flag."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from flowrun.errors import TaskKilled

from .errors import EvalError

#: Loop iterations, macro calls and filter/function calls of one render (big inputs weigh more).
MAX_STEPS = 2_000_000
#: Steps one macro call costs (a call costs about as much time as this many loop iterations).
MACRO_CALL_STEPS = 20
#: Items of one list or map a template builds (`range`, `+`, `merge`, `flatten`...).
MAX_ITEMS = 1_000_000
#: Characters of one string a template builds, and of one render's whole output.
MAX_CHARS = 32 * 1024 * 1024
#: Bits of one integer a template computes (Java's `long` has 64; this leaves room for BigInteger use).
MAX_INT_BITS = 4096
#: Seconds one regular expression may run (`split`, `replace(..., regexp=true)`).
REGEX_SECONDS = 1.0
#: Seconds one `jq` call may run, and the memory its worker process may use.
JQ_SECONDS = 10.0
JQ_MEMORY_BYTES = 1024 * 1024 * 1024

_CHECK_EVERY = 1024
_STOPPED = "template rendering stopped: the task timed out or was killed"


class LimitError(EvalError):
    """A template went over one of its resource bounds."""


class Bounds(NamedTuple):
    """What the caller (a task attempt) lets rendering use: a cancel flag and a monotonic deadline."""

    cancel: threading.Event | None = None
    deadline: float | None = None


_NO_BOUNDS = Bounds()
_BOUNDS: contextvars.ContextVar[Bounds | None] = contextvars.ContextVar("flowrun_template_bounds", default=None)


@contextlib.contextmanager
def bounded(cancel: threading.Event | None = None, deadline: float | None = None) -> Iterator[None]:
    """Renders in this block stop (TaskKilled) once `cancel` is set; regex and jq calls end by `deadline`."""
    token = _BOUNDS.set(Bounds(cancel, deadline))
    try:
        yield
    finally:
        _BOUNDS.reset(token)


def current_bounds() -> Bounds:
    return _BOUNDS.get() or _NO_BOUNDS


def stop_if_cancelled(bounds: Bounds | None = None) -> None:
    cancel = (bounds or current_bounds()).cancel
    if cancel is not None and cancel.is_set():
        raise TaskKilled(_STOPPED)


def seconds_left(cap: float) -> float:
    """`cap`, or less when the caller's deadline comes first (never below a few milliseconds)."""
    deadline = current_bounds().deadline
    if deadline is None:
        return cap
    return max(0.005, min(cap, deadline - time.monotonic()))


def after_timeout(what: str, seconds: float) -> None:
    """Raise the right error once `what` ran out of time: TaskKilled if the task's timeout fired."""
    bounds = current_bounds()
    if bounds.cancel is not None:
        near = bounds.deadline is not None and time.monotonic() >= bounds.deadline - 0.05
        if bounds.cancel.is_set() or (near and bounds.cancel.wait(0.5)):  # the timer thread is about to fire
            raise TaskKilled(_STOPPED)
    raise LimitError(f"{what} ran longer than {seconds:.3g}s and was stopped")


class Budget:
    """The steps and output characters left to one top-level render; macros and `render()` share it."""

    __slots__ = ("steps", "chars", "bounds", "_next_check")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.chars = MAX_CHARS
        self.bounds = current_bounds()
        self._next_check = MAX_STEPS - _CHECK_EVERY

    def charge(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps <= self._next_check:
            self._check()

    def charge_for(self, value: Any) -> None:
        """One step, plus more for a big string or collection (filters and operators walk them)."""
        self.charge(1 + weight(value))

    def write(self, chars: int) -> None:
        """One step (more for long text), and `chars` characters of output."""
        self.chars -= chars
        if self.chars < 0:
            raise LimitError(f"the rendered output is larger than {MAX_CHARS:,} characters")
        self.steps -= 1 + (chars >> 5)
        if self.steps <= self._next_check:
            self._check()

    def _check(self) -> None:
        self._next_check = self.steps - _CHECK_EVERY
        stop_if_cancelled(self.bounds)
        if self.steps < 0:
            raise LimitError(f"the template takes more than {MAX_STEPS:,} evaluation steps (loop iterations, "
                             "output, macro and filter calls); it was stopped")


_ACTIVE: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("flowrun_template_budget", default=None)


@contextlib.contextmanager
def active_budget(budget: Budget) -> Iterator[None]:
    """Make `budget` the one `charge` uses in this thread while a top-level render runs."""
    token = _ACTIVE.set(budget)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def charge(steps: int) -> None:
    """Charge the render running in this thread for work done in Python, about 1 µs a step (no-op outside)."""
    budget = _ACTIVE.get()
    if budget is not None:
        budget.charge(steps)


def weight(value: Any) -> int:
    """Extra steps for walking `value`: one per 16 items of a collection, one per 256 characters.

    This also bounds the memory a render can allocate: 2,000,000 steps build at most ~512 MB of strings."""
    kind = type(value)
    if kind is str:
        return len(value) >> 8
    if kind is int or kind is float or kind is bool or value is None:
        return 0
    if kind is list or kind is dict or isinstance(value, list | tuple | set | frozenset | Mapping):
        return len(value) >> 4
    return len(value) >> 8 if isinstance(value, str) else 0


def check_items(count: int, what: str) -> None:
    if count > MAX_ITEMS:
        raise LimitError(f"{what} would have {count:,} items; a template may build at most {MAX_ITEMS:,}")


def check_chars(count: int, what: str) -> None:
    if count > MAX_CHARS:
        raise LimitError(f"{what} would be {count:,} characters long; a template may build at most "
                         f"{MAX_CHARS:,}")


def check_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        raise LimitError(f"a number has more than {MAX_INT_BITS} bits; it is too large for a template")
    return value
