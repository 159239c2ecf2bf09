"""LoopUntil and WaitFor: the outcomes of Kestra's LoopUntilCaseTest (condition checked after each iteration)."""

from __future__ import annotations

from conftest import Project
from helpers import one, runs

LOOP = "io.kestra.plugin.core.flow.LoopUntil"
WAIT = "io.kestra.plugin.core.flow.WaitFor"


def _loop(project: Project, kind: str = WAIT, until: str = "4", max_: str = "100", fail: str = "false") -> object:
    return project.run(project.flow_file("loops/waitfor.yaml", type=kind, until=until, max=max_, fail=fail))


def test_the_loop_stops_once_the_condition_is_true(project: Project) -> None:
    """waitfor: the condition holds after the third iteration (count 4)."""
    ex = _loop(project)
    assert ex.state == "SUCCESS"  # type: ignore[attr-defined]
    assert one(ex, "loop").outputs == {"iterationCount": 3}
    counts = [tr.outputs["value"] for tr in runs(ex, "count")]
    assert counts == ["2", "3", "4"], "one task run per iteration, each seeing the iteration count"


def test_the_condition_true_at_once_runs_one_iteration(project: Project) -> None:
    ex = _loop(project, LOOP, until="2")
    assert ex.state == "SUCCESS" and one(ex, "loop").outputs["iterationCount"] == 1  # type: ignore[attr-defined]


def test_max_iterations_with_fail_on_max_reached_fails(project: Project) -> None:
    """waitforMaxIterations: FAILED once maxIterations is reached."""
    ex = _loop(project, until="10", max_="3", fail="true")
    assert ex.state == "FAILED"  # type: ignore[attr-defined]
    assert one(ex, "loop").outputs["iterationCount"] == 3 and len(runs(ex, "count")) == 3


def test_max_iterations_without_fail_ends_in_success(project: Project) -> None:
    """waitforNoSuccess: maxIterations reached, failOnMaxReached false: SUCCESS."""
    ex = _loop(project, LOOP, until="99", max_="5")
    assert ex.state == "SUCCESS" and one(ex, "loop").outputs["iterationCount"] == 5  # type: ignore[attr-defined]


def test_a_failed_subtask_ends_the_loop_with_its_errors(project: Project) -> None:
    """waitforMultipleTasksFailed: FAILED at the first iteration, the failed task run has one attempt."""
    ex = project.run(project.flow_file("loops/waitfor-failing.yaml"))
    assert ex.state == "FAILED"
    assert one(ex, "loop").outputs["iterationCount"] == 1
    assert len(one(ex, "fail").attempts) == 1
    assert one(ex, "on_error").state == "SUCCESS"


def test_max_duration_with_a_warning_subtask_fails(project: Project) -> None:
    """waitForChildTaskWarning: a WARNING subtask does not stop the loop; maxDuration fails it."""
    ex = project.run(project.flow_file("loops/waitfor-duration.yaml"))
    assert ex.state == "FAILED"
    assert one(ex, "loop").outputs["iterationCount"] > 1
    assert {tr.state for tr in runs(ex, "tolerated")} == {"WARNING"}


def test_wait_for_keeps_kestra_1_1_defaults(project: Project) -> None:
    """WaitFor fills what checkFrequency leaves out with 100 iterations and PT1H; LoopUntil has no limits."""
    from flowrun.load import load_flow

    text = project.flow_file("loops/waitfor.yaml", type=WAIT, until="4", max="1", fail="false").read_text()
    wait = load_flow(project.flow(text.replace("      maxIterations: 1\n", ""), "wait.yaml")).tasks[0]
    assert (wait.check_frequency.max_iterations, wait.check_frequency.max_duration) == (100, "PT1H")
    loop = load_flow(project.flow(text.replace("      maxIterations: 1\n", "").replace(WAIT, LOOP),
                                  "loop.yaml")).tasks[0]
    assert (loop.check_frequency.max_iterations, loop.check_frequency.max_duration) == (None, None)
    assert loop.check_frequency.interval == "PT0.01S"
