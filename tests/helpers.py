"""Shared test helpers: reading test flows from tests/flows/, picking task runs, and clean-exit assertions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import CliResult

FLOWS = Path(__file__).resolve().parent / "flows"


def flow_text(source: str, **values: Any) -> str:
    """The text of tests/flows/<source>; with `values`, its `$name` placeholders are filled (`$$` is a `$`)."""
    text = (FLOWS / source).read_text(encoding="utf-8")
    return Template(text).substitute({key: str(value) for key, value in values.items()}) if values else text


# -- task runs of an execution ------------------------------------------------------------------------------
def runs(execution: Any, task_id: str) -> list[Any]:
    """Every task run of `task_id`, in execution order."""
    return [tr for tr in execution.task_runs if tr.task_id == task_id]


def one(execution: Any, task_id: str) -> Any:
    """The only task run of `task_id` (fails if there are none or several)."""
    found = runs(execution, task_id)
    assert len(found) == 1, f"{task_id}: {len(found)} task runs"
    return found[0]


def ids(execution: Any) -> list[str]:
    """The task ids of the task runs, in execution order."""
    return [tr.task_id for tr in execution.task_runs]


def states(execution: Any) -> dict[str, str]:
    """Task id -> state of its (last) task run."""
    return {tr.task_id: tr.state for tr in execution.task_runs}


def outputs(execution: Any, task_id: str) -> dict[str, Any]:
    """The outputs of the first task run of `task_id`."""
    return next(tr for tr in execution.task_runs if tr.task_id == task_id).outputs


def max_overlap(task_runs: list[Any]) -> int:
    """The largest number of task runs alive at the same instant (from their start/end dates)."""
    events: list[tuple[datetime, int]] = []
    for tr in task_runs:
        events += [(tr.start_date, 1), (tr.end_date, -1)]
    alive = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        alive += delta
        peak = max(peak, alive)
    return peak


# -- CLI results ----------------------------------------------------------------------------------------------
def assert_clean(result: CliResult, code: int) -> None:
    """The exit code is `code`, nothing leaked a Python traceback, and no "internal error" was reported."""
    assert result.code == code, f"exit {result.code}, expected {code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    assert "internal error" not in result.stderr, result.stderr


def assert_clean_error(result: CliResult, code: int, *fragments: str) -> None:
    """A clean exit with `code` whose stderr holds every one of `fragments`."""
    assert result.code == code, result
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
