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


def test_a_loop_that_pauses_goes_on_in_later_ticks(project: Project) -> None:
    """Run in one CLI process, `tick` in another: each tick resumes the iteration's pause, the loop goes on where
    it stopped (its iteration count, its earlier iterations' task runs kept), until the condition holds."""
    from datetime import UTC, datetime, timedelta

    from flowrun.app.inspect import show_execution
    from flowrun.app.tick import tick

    def later(hours: int) -> str:
        return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    first = project.cli("run", str(project.flow_file("loops/waitfor-pausing.yaml")), "--json")
    assert first.code == 5, first.stderr
    execution_id = first.json()["id"]
    ticked = project.cli("tick", "--now", later(2))
    assert ticked.code == 0 and f"resumed {execution_id} PAUSED" in ticked.stdout, ticked.stdout + ticked.stderr
    middle = show_execution(str(project.home), execution_id)
    assert [tr["taskId"] for tr in middle["taskRuns"]] == ["loop", "wait", "count", "wait"]
    assert tick(str(project.home), str(project.root), later(4)).resumed[0]["state"] == "SUCCESS"
    doc = show_execution(str(project.home), execution_id)
    assert [tr["taskId"] for tr in doc["taskRuns"]] == ["loop", "wait", "count", "wait", "count", "after"]
    assert [tr["outputs"].get("value") for tr in doc["taskRuns"] if tr["taskId"] == "count"] == ["2", "3"]
    assert doc["taskRuns"][0]["outputs"] == {"iterationCount": 2}
    assert doc["taskRuns"][-1]["outputs"]["value"] == "done at 2"
