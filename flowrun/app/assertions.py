"""A unit test's assertion operators: compare a rendered value with what the test case expects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowrun.templating.output import to_output


@dataclass
class AssertionResult:
    """One operator of one assertion: what was expected, what the execution gave, and whether they agree."""

    operator: str
    expected: Any
    actual: Any
    ok: bool
    task_id: str | None = None
    description: str | None = None
    error_message: str | None = None
    problem: str | None = None  # the value could not be compared (not a number, did not render)

    def to_json(self) -> dict[str, Any]:
        return {"operator": self.operator, "expected": self.expected, "actual": self.actual,
                "isSuccess": self.ok, "taskId": self.task_id, "description": self.description,
                "errorMessage": self.error_message, "problem": self.problem}


def text(value: Any) -> str:
    """A value as the string `{{ value }}` renders to (compact JSON for lists and maps, Java number forms)."""
    return to_output(value)


def _same(actual: Any, expected: Any) -> bool:
    if type(actual) is type(expected) and not isinstance(actual, float | int):
        return bool(actual == expected)
    if _number(actual) is not None and _number(expected) is not None:
        return _number(actual) == _number(expected)
    return text(actual).strip() == text(expected).strip()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "null"))


def _compare(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            raise ValueError(f"`{text(actual)}` is not a number")
        return check(left, right)
    return compare


CHECKS: dict[str, Callable[[Any, Any], bool]] = {
    "equalTo": _same,
    "notEqualTo": lambda actual, expected: not _same(actual, expected),
    "contains": lambda actual, expected: text(expected) in text(actual),
    "startsWith": lambda actual, expected: text(actual).startswith(text(expected)),
    "endsWith": lambda actual, expected: text(actual).endswith(text(expected)),
    "greaterThan": _compare(lambda a, b: a > b),
    "greaterThanOrEqualTo": _compare(lambda a, b: a >= b),
    "lessThan": _compare(lambda a, b: a < b),
    "lessThanOrEqualTo": _compare(lambda a, b: a <= b),
    "in": lambda actual, expected: any(_same(actual, item) for item in expected),
    "notIn": lambda actual, expected: not any(_same(actual, item) for item in expected),
    "isNull": lambda actual, expected: _is_null(actual) == bool(expected),
    "isNotNull": lambda actual, expected: (not _is_null(actual)) == bool(expected),
}


def check(operator: str, actual: Any, expected: Any) -> tuple[bool, str | None]:
    """Whether `actual` passes `operator` against `expected`, and why it could not be compared."""
    try:
        return CHECKS[operator](actual, expected), None
    except (ValueError, TypeError) as exc:
        return False, str(exc)
