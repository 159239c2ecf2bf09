"""Pause as Kestra 1.x runs it (the outcomes of Kestra's PauseTest): delays, timeout, behavior, onPause, errors."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import Project
from helpers import ids, one, runs

from flowrun.app.tick import tick as run_tick
from flowrun.model.execution import iso


def history(taskrun: Any, state: str) -> int:
    """How many times the task run went through `state`."""
    return sum(1 for entry in taskrun.histories if entry["state"] == state)


def test_a_pause_duration_resumes_the_same_task_run(project: Project) -> None:
    """PauseTest.runDelay: one PAUSED and one RUNNING in the pause's histories, two task runs."""
    ex = project.run(project.flow_file("pause/delay.yaml"))
    assert ex.state == "SUCCESS" and ids(ex) == ["pause", "last"]
    pause = one(ex, "pause")
    assert [h["state"] for h in pause.histories] == ["CREATED", "RUNNING", "PAUSED", "SUCCESS"]
    assert pause.outputs["resumed"]["to"] == "SUCCESS" and "onResume" not in pause.outputs
    assert one(ex, "last").outputs["value"] == "SUCCESS"
    assert [h["state"] for h in ex.histories] == ["CREATED", "RUNNING", "PAUSED", "RESTARTED", "RUNNING", "SUCCESS"]


def test_a_legacy_delay_with_subtasks_runs_them_after_the_pause(project: Project) -> None:
    """The deprecated `tasks` run once resumed: the pause goes RUNNING a second time (3 task runs)."""
    ex = project.run(project.flow_file("pause/delay-subtasks.yaml"))
    assert ex.state == "SUCCESS" and ids(ex) == ["pause", "inside", "last"]
    pause = one(ex, "pause")
    assert (history(pause, "PAUSED"), history(pause, "RUNNING")) == (1, 2)
    assert one(ex, "inside").parent_id == pause.id
    paused_at = next(h["date"] for h in pause.histories if h["state"] == "PAUSED")
    assert iso(one(ex, "inside").start_date) > paused_at, "a subtask ran before the pause was over"


def test_a_timeout_without_duration_fails_the_pause(project: Project) -> None:
    """PauseTest.runTimeout: FAILED, one task run, histories PAUSED, RUNNING and FAILED once each."""
    ex = project.run(project.flow_file("pause/timeout.yaml", allow="false"))
    assert ex.state == "FAILED" and ids(ex) == ["pause"]
    pause = one(ex, "pause")
    assert [history(pause, s) for s in ("PAUSED", "RUNNING", "FAILED")] == [1, 1, 1]
    assert pause.outputs["resumed"]["to"] == "FAILED"


def test_a_timeout_with_allow_failure_warns_and_goes_on(project: Project) -> None:
    """PauseTest.runTimeoutAllowFailure: WARNING, two task runs."""
    ex = project.run(project.flow_file("pause/timeout.yaml", allow="true"))
    assert ex.state == "WARNING" and ids(ex) == ["pause", "last"]
    assert history(one(ex, "pause"), "WARNING") == 1


@pytest.mark.parametrize(("behavior", "state", "count"), [
    ("RESUME", "SUCCESS", 2), ("WARN", "WARNING", 2), ("FAIL", "FAILED", 1), ("CANCEL", "CANCELLED", 1)])
def test_behavior_decides_the_end_of_a_pause_duration(project: Project, behavior: str, state: str,
                                                      count: int) -> None:
    """PauseTest.runDurationWith*Behavior: the pause and the execution end in the behavior's state."""
    ex = project.run(project.flow_file("pause/behavior.yaml", duration="PT0.1S"), {"behavior": behavior})
    assert len(ex.task_runs) == count
    assert one(ex, "pause").state == state and ex.state == state


def test_a_bad_behavior_fails_the_pause_and_a_literal_one_is_invalid(project: Project) -> None:
    ex = project.run(project.flow_file("pause/behavior.yaml", duration="PT0.1S"), {"behavior": "LATER"})
    assert ex.state == "FAILED" and "behavior `LATER` is not one of RESUME, WARN, CANCEL, FAIL" in one(ex, "pause").error
    path = project.flow("""
        id: bad
        namespace: tests.pause
        tasks:
          - id: pause
            type: io.kestra.plugin.core.flow.Pause
            behavior: SOMETIMES
        """, "bad.yaml")
    result = project.cli("validate", str(path))
    assert result.code == 3 and "behavior `SOMETIMES` is not one of RESUME, WARN, CANCEL, FAIL" in result.stderr


def test_errors_finally_and_after_execution_run_when_the_pause_times_out(project: Project) -> None:
    """PauseTest.shouldExecuteErrorsFinallyAndAfterExecution: FAILED, four task runs."""
    ex = project.run(project.flow_file("pause/errors-finally.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["pause", "on_error", "on_finally", "after_all"]
    assert [one(ex, t).state for t in ("pause", "on_error", "on_finally", "after_all")] == \
        ["FAILED", "SUCCESS", "SUCCESS", "SUCCESS"]


def test_on_pause_runs_when_the_pause_starts(project: Project) -> None:
    """PauseTest.shouldExecuteOnPauseTask: SUCCESS, two task runs, the last one `hello`."""
    ex = project.run(project.flow_file("pause/on-pause.yaml"))
    assert ex.state == "SUCCESS" and ids(ex) == ["pause", "hello"]
    hello = one(ex, "hello")
    assert hello.parent_id == one(ex, "pause").id and hello.state == "SUCCESS"


def test_pauses_in_each_parallel_branches_wait_together(project: Project) -> None:
    """PauseTest.runParallelDelay (each-parallel-pause): SUCCESS, seven task runs, the delays overlap."""
    started = time.monotonic()
    ex = project.run(project.flow_file("pause/each-parallel.yaml", duration="PT1S"))
    assert time.monotonic() - started < 2.5, "the three pauses did not wait at the same time"  # one after another: 3 s
    assert ex.state == "SUCCESS" and len(ex.task_runs) == 7
    assert sorted(tr.value_path for tr in runs(ex, "log")) == [("a",), ("b",), ("c",)]
    assert all(history(tr, "PAUSED") == 1 for tr in runs(ex, "pause"))


def test_a_long_pause_leaves_the_execution_paused_with_its_delay(project: Project) -> None:
    ex = project.run(project.flow_file("pause/long.yaml", behavior="RESUME"))
    assert ex.state == "PAUSED" and ids(ex) == ["pause"]
    assert one(ex, "pause").state == "PAUSED"


def test_tick_resumes_only_once_the_delay_has_passed(project: Project) -> None:
    ex = project.run(project.flow_file("pause/long.yaml", behavior="WARN"))
    soon = _tick(project, "2000-01-01T00:00:00Z")  # long before the resume date
    assert soon.resumed == []
    report = _tick(project, "2100-01-01T00:00:00Z")
    assert report.resumed == [{"flow": "tests.pause/pause_long", "executionId": ex.id, "state": "WARNING",
                               "error": None}]
    assert _tick(project, "2100-01-01T00:05:00Z").resumed == []  # each delay resumes once


def test_a_manual_resume_succeeds_and_forgets_the_delay(project: Project) -> None:
    """runDurationManuallyResumed: resumed once, by hand, to SUCCESS; the passed delay does not resume it again."""
    from flowrun.app.continuation import continue_execution

    ex = project.run(project.flow_file("pause/long.yaml", behavior="FAIL"))
    done = _in(project, lambda: continue_execution(ex.id, "resume", str(project.home)))
    assert done.state == "SUCCESS" and one(done, "last").outputs["value"] == "SUCCESS"
    assert history(one(done, "pause"), "PAUSED") == 1
    assert _tick(project, "2100-01-01T00:00:00Z").resumed == []


def test_pause_wait_zero_leaves_even_a_short_pause_to_tick(project: Project) -> None:
    project.config("pauseWait: PT0S\n")
    ex = project.run(project.flow_file("pause/delay.yaml"))
    assert ex.state == "PAUSED"
    report = _tick(project, "2100-01-01T00:00:00Z")
    assert [r["state"] for r in report.resumed] == ["SUCCESS"]


def _tick(project: Project, now: str | None) -> Any:
    return run_tick(str(project.home), str(project.root), now)


def _in(project: Project, call: Any) -> Any:
    import os

    cwd = os.getcwd()
    os.chdir(project.root)
    try:
        return call()
    finally:
        os.chdir(cwd)
