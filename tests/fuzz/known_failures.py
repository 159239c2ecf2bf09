"""Failure classes the fuzz harness tolerates while a fix is under way (none today): each names its fix and its inputs.

Each entry names its area and issue item, a minimal reproducer, a predicate on the input (`applies`) and, for
cases that fail fast, the signature of the failure (`outcome`). An entry without `outcome` is skipped before it
runs: those inputs hang or eat memory today, and each would cost the whole 10 s watchdog.
Delete an entry once its fix is merged: from then on the suite holds the fix to the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .fuzz_harness import Case, Outcome


@dataclass(frozen=True)
class KnownFailure:
    """A failure class: where it is fixed, how to see it, which inputs it covers, which violations it excuses."""

    name: str
    area: str
    issue: str
    reproducer: str
    applies: Callable[[Case], bool]
    outcome: Callable[[Outcome], bool] | None = None
    excuses: tuple[str, ...] = ()  # prefixes of the violations (fuzz_harness.violations) this class explains


KNOWN_FAILURES: list[KnownFailure] = []  # every class found so far is fixed on main


def skipped(case: Case) -> KnownFailure | None:
    """The known failure whose inputs are not run at all (they hang or eat memory today)."""
    return next((k for k in KNOWN_FAILURES if k.outcome is None and k.applies(case)), None)


def excused(case: Case, outcome: Outcome, found: list[str]) -> tuple[list[str], list[KnownFailure]]:
    """The violations no known failure explains, and the known failures that explained the others."""
    matching = [k for k in KNOWN_FAILURES if k.outcome is not None and k.applies(case) and k.outcome(outcome)]
    left = [v for v in found if not any(v.startswith(prefix) for k in matching for prefix in k.excuses)]
    used = [k for k in matching if any(v.startswith(p) for v in found for p in k.excuses)]
    return left, used
