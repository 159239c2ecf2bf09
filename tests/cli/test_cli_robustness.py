"""Regressions found by the fuzz suite (tests/fuzz): each bad argument gets a clear error and its exit code."""

from __future__ import annotations

import pytest

from flowrun.durations import DurationError, parse_duration
from flowrun.errors import UsageError
from flowrun.schedule.plan import parse_moment

DAILY = """
id: daily
namespace: fuzz
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: every_day
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
"""


def _clear(result, code: int, *fragments: str) -> None:
    assert result.code == code, result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_inputs_file_not_utf8(project) -> None:
    flow = project.flow("id: f\nnamespace: fuzz\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
                        "    message: hi\n")
    (project.root / "latin1.json").write_bytes('{"name": "Jos\u00e9"}'.encode("latin-1"))
    _clear(project.cli("run", str(flow), "--inputs", "latin1.json"), 2,
           "--inputs latin1.json: not UTF-8 text (byte 13", "hint: save the file as UTF-8")


@pytest.mark.parametrize(("value", "message"), [
    ("@", "value @: cannot read the file (Is a directory)"),
    ("@missing.txt", "value @missing.txt: cannot read the file (No such file or directory)"),
    ("@latin1.txt", "value @latin1.txt: the file is not UTF-8 text (byte 0"),
])
def test_kv_set_value_file_unreadable(project, value: str, message: str) -> None:
    (project.root / "latin1.txt").write_bytes("\u00e9t\u00e9".encode("latin-1"))
    _clear(project.cli("kv", "set", "fuzz", "k", value), 2, message)


def test_schedule_dates_beyond_the_supported_years(project) -> None:
    project.flow(DAILY, "daily.yaml")
    for argv in (["tick", "--now", "9999-12-31"], ["schedule", "list", "--now", "0001-01-01T00:00:00Z"],
                 ["backfill", "flows/daily.yaml", "--from", "2019-01-01", "--to", "9999-12-31", "--dry-run"]):
        _clear(project.cli(*argv), 2, "is outside the years that flowrun schedules (1900 to 8999)")
    assert parse_moment("2019-01-01", None, end_of_day=True).isoformat() == "2019-01-01T23:59:59.999999"
    with pytest.raises(UsageError, match="outside the years"):
        parse_moment("9999-12-31T23:00:00", None)


def test_durations_too_long_for_a_date(project) -> None:
    _clear(project.cli("venvs", "prune", "--older-than", "PT99999999999999999999S"), 2,
           "duration `PT99999999999999999999S` is longer than 1000 years")
    with pytest.raises(DurationError, match="longer than 1000 years"):
        parse_duration("P999999999D")
    assert parse_duration("P365000D").days == 365000


@pytest.mark.parametrize(("argv", "message"), [
    (["executions", "list", "--limit", "99999999999999999999"], "Invalid value for '--limit'"),
    (["executions", "list", "--limit", "0"], "Invalid value for '--limit'"),
    (["schedule", "list", "--count", "99999999999999999999"], "Invalid value for '--count'"),
    (["schedule", "list", "--count", "-5"], "Invalid value for '--count'"),
    (["backfill", "flows/daily.yaml", "--from", "2019-01-01", "--to", "2019-01-02", "--parallel",
      "99999999999999999999"], "--parallel must be from 1 to 64"),
])
def test_counts_out_of_range_are_usage_errors(project, argv: list[str], message: str) -> None:
    """Before: an OverflowError from SQLite, an endless `schedule list`, and one process per --parallel."""
    project.flow(DAILY, "daily.yaml")
    _clear(project.cli(*argv, timeout=20), 2, message)


def test_backfill_window_is_bounded(project) -> None:
    project.flow(DAILY, "daily.yaml")
    result = project.cli("backfill", "flows/daily.yaml", "--from", "1900-01-01", "--to", "8999-01-01", "--dry-run",
                         timeout=30)
    _clear(result, 2, "holds more than 50,000 dates of trigger `every_day`", "backfill a shorter window")
