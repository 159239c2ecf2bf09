"""flowrun's one duration parser: its own grammar and the `java=True` grammar of Kestra's DURATION inputs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowrun.durations import DurationError, parse_duration
from flowrun.model.inputs import duration_value


@pytest.mark.parametrize(("text", "expected"), [
    ("PT-5M", timedelta(minutes=-5)),
    ("P1DT-2H30M", timedelta(days=1, hours=-2, minutes=30)),
    ("-PT-5M", timedelta(minutes=5)),
    ("PT-0.5S", timedelta(seconds=-0.5)),
    ("PT1.S", timedelta(seconds=1)),
    ("pt1,25s", timedelta(seconds=1.25)),
    ("P2D", timedelta(days=2)),
])
def test_the_java_grammar_reads_what_duration_parse_reads(text: str, expected: timedelta) -> None:
    assert parse_duration(text, java=True) == expected
    assert duration_value(text) == expected


@pytest.mark.parametrize("text", ["P1W", "PT1.5M", "P1.5D", " PT5M", "PT", "P1DT", "P1M", "PT0.1234567891S", "PT٣S"])
def test_the_java_grammar_rejects_what_duration_parse_rejects(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text, java=True)
    with pytest.raises(ValueError, match="^$"):  # the input layer writes its own message
        duration_value(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("P2W", timedelta(weeks=2)),
    ("PT1.5M", timedelta(seconds=90)),
    (" PT5M ", timedelta(minutes=5)),
    ("P0.5D", timedelta(hours=12)),
])
def test_flowruns_grammar_is_more_lenient(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    with pytest.raises(ValueError):
        duration_value(text)


@pytest.mark.parametrize("text", ["PT-5M", "PT1.S", "PT+5M"])
def test_flowruns_grammar_takes_no_sign_on_a_part_and_no_empty_fraction(text: str) -> None:
    with pytest.raises(DurationError, match="is not an ISO-8601 duration"):
        parse_duration(text)


def test_a_duration_too_long_for_a_timedelta_is_a_duration_error() -> None:
    with pytest.raises(DurationError, match="longer than 1000 years"):
        parse_duration("P9999999999D")


def test_a_duration_input_value_that_is_not_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="^$"):
        duration_value(5)
