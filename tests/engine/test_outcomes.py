"""Outcomes as values: `capture` turns exceptions into Failures; an attempt's result is an AttemptResult."""

from __future__ import annotations

from typing import NoReturn

import pytest
from conftest import Project

from flowrun.engine.outcomes import AttemptResult, Failure, attempt_result, capture
from flowrun.errors import TaskError, TaskKilled, UsageError
from flowrun.model.execution import State


def raises(exc: BaseException) -> NoReturn:
    raise exc


def test_capture_turns_each_kind_of_exception_into_a_failure() -> None:
    assert capture(lambda: 42) == 42
    error = capture(lambda: raises(TaskError("boom", evidence={"exitCode": 2}, outputs={"a": 1})))
    assert error == Failure("error", "boom", {"exitCode": 2}, {"a": 1})
    assert capture(lambda: raises(TaskKilled())) == Failure("killed")
    assert capture(lambda: raises(KeyboardInterrupt())) == Failure("interrupted")
    bug = capture(lambda: raises(UsageError("no such execution")))
    assert bug == Failure("bug", "UsageError: no such execution", own_message="no such execution")
    assert capture(lambda: {}["x"]) == Failure("bug", "KeyError: 'x'")


def test_capture_lets_through_what_it_is_not_asked_to_catch() -> None:
    with pytest.raises(KeyboardInterrupt):
        capture(lambda: raises(KeyboardInterrupt()), interrupts=False)
    with pytest.raises(ValueError):
        capture(lambda: raises(ValueError("x")), errors=False)
    assert capture(lambda: raises(KeyboardInterrupt()), errors=False) == Failure("interrupted")


def test_an_attempt_result_says_how_the_attempt_ended() -> None:
    assert attempt_result({"v": 1}, False, None) == AttemptResult(State.SUCCESS, {"v": 1})
    assert attempt_result({"v": 1}, True, "PT1S") == AttemptResult(State.FAILED, {"v": 1}, "timed out after PT1S")
    assert attempt_result(Failure("killed"), True, "PT1S") == AttemptResult(State.FAILED, error="timed out after PT1S")
    assert attempt_result(Failure("interrupted"), False, None) == AttemptResult(State.KILLED, interrupted=True)
    assert attempt_result(Failure("killed"), False, None) == AttemptResult(State.KILLED)
    failed = attempt_result(Failure("error", "boom", {"k": "v"}, {"o": 1}), False, None)
    assert failed == AttemptResult(State.FAILED, {"o": 1}, "boom", {"k": "v"})


def test_a_flowable_that_breaks_fails_with_the_exception_named(project: Project) -> None:
    path = project.flow("""\
id: f
namespace: t
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles: "[1, 2]"
    tasks:
      - id: never
        type: io.kestra.plugin.core.log.Log
        message: never
""")
    execution = project.run(path)
    assert execution.state == "FAILED"
    (wd,) = execution.task_runs
    assert wd.state == "FAILED" and wd.error is not None and wd.error.startswith("AttributeError: ")
