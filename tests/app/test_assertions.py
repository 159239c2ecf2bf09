"""The unit-test assertion operators, against rendered values (templates render to text)."""

from __future__ import annotations

import pytest

from flowrun.app.assertions import check


@pytest.mark.parametrize(("operator", "actual", "expected", "ok"), [
    ("equalTo", "200", 200, True), ("equalTo", "HELLO", "HELLO", True), ("equalTo", "a", "b", False),
    ("equalTo", [1, 2], [1, 2], True), ("notEqualTo", "2", 3, True), ("notEqualTo", "3", 3, False),
    ("contains", "all good", "good", True), ("contains", "bad", "good", False),
    ("startsWith", "prod-eu", "prod-", True), ("endsWith", "data.json", ".csv", False),
    ("greaterThan", "10", 5, True), ("greaterThan", "5", 5, False), ("greaterThanOrEqualTo", "5", 5, True),
    ("lessThan", "1.5", 2, True), ("lessThanOrEqualTo", "3", 2, False),
    ("in", "201", [200, 201], True), ("in", "404", [200, 201], False), ("notIn", "404", [500], True),
    ("isNull", "", True, True), ("isNull", "x", True, False), ("isNotNull", "x", True, True),
    ("isNotNull", None, True, False), ("isNotNull", "", False, True),
])
def test_operators(operator: str, actual: object, expected: object, ok: bool) -> None:
    assert check(operator, actual, expected) == (ok, None)


def test_a_value_that_is_not_a_number_cannot_be_compared() -> None:
    assert check("greaterThan", "many", 3) == (False, "`many` is not a number")


def test_lists_and_maps_compare_as_the_text_a_template_renders() -> None:
    """`{{ outputs.x.values }}` renders compact JSON, so a test expecting that text matches the value itself."""
    assert check("equalTo", ["a", "b"], '["a","b"]') == (True, None)
    assert check("contains", {"k": "v"}, '"k":"v"') == (True, None)
    assert check("equalTo", [1, 2], "[1, 2]") == (False, None)
