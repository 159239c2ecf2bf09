"""execution.Exit, execution.Count, execution.Resume and trigger.Toggle (outcomes of Kestra's ExitTest, CountTest)."""

from __future__ import annotations

import time

import pytest
from conftest import Project
from helpers import ids, one, states

from flowrun.app.tick import tick as run_tick


@pytest.mark.parametrize(("state", "final"), [("WARNING", "WARNING"), ("FAILED", "FAILED"),
                                              ("CANCELED", "CANCELLED"), ("CANCELLED", "CANCELLED"),
                                              ("SUCCESS", "SUCCESS")])
def test_exit_ends_the_execution_in_its_state(project: Project, state: str, final: str) -> None:
    """ExitTest.shouldExitTheExecution: the If and the Exit end in the state, `end` (and `errors`) never run."""
    ex = project.run(project.flow_file("execution/exit.yaml", state=state))
    assert ex.state == final
    assert ids(ex) == ["if", "exit", "after"]  # afterExecution still runs
    assert states(ex)["if"] == final and states(ex)["exit"] == final
    assert one(ex, "after").outputs["value"] == final


def test_exit_is_skipped_when_its_branch_is_not_taken(project: Project) -> None:
    ex = project.run(project.flow_file("execution/exit.yaml", state="FAILED"), {"state": "CONTINUE"})
    assert ex.state == "SUCCESS" and ids(ex) == ["if", "hello", "end", "after"]


def test_exit_killed_stops_the_running_branches(project: Project) -> None:
    """ExitTest.shouldExitAndKillTheExecution: every task run KILLED, at once (not after the 30 s sleep)."""
    started = time.monotonic()
    ex = project.run(project.flow_file("execution/exit-parallel.yaml"))
    assert time.monotonic() - started < 10
    assert ex.state == "KILLED"
    assert {tr.task_id: tr.state for tr in ex.task_runs} == {"branches": "KILLED", "sleeper": "KILLED",
                                                             "exit": "KILLED"}


def test_exit_rejects_an_unknown_state_at_load_time(project: Project) -> None:
    path = project.flow_file("execution/exit.yaml", state="DONE")
    result = project.cli("validate", str(path))
    assert result.code == 3
    assert "state `DONE` is not one of SUCCESS, WARNING, KILLED, FAILED, CANCELED" in result.stderr


COUNT = """
id: counter
namespace: tests.count
tasks:
  - id: counts
    type: io.kestra.plugin.core.execution.Count
    expression: "{{{{ count {op} }}}}"
    startDate: "{{{{ now() | dateAdd(-30, 'DAYS') }}}}"
    endDate: "{{{{ now() }}}}"
{extra}
"""


def _runs(project: Project, flow_id: str, fail: bool, times: int) -> None:
    path = project.flow(f"""
        id: {flow_id}
        namespace: tests.count
        tasks:
          - id: t
            type: io.kestra.plugin.core.{'execution.Fail' if fail else 'debug.Return'}
        """, f"{flow_id}.yaml")
    for _ in range(times):
        project.run(path)


def test_count_keeps_the_flows_the_expression_accepts(project: Project) -> None:
    """CountTest.run: counts per flow, a state filter, and a flow with no execution counted as 0."""
    _runs(project, "first", False, 1)
    _runs(project, "second", True, 2)
    _runs(project, "third", False, 3)
    flows = "    flows:\n" + "".join(f"      - namespace: tests.count\n        flowId: {f}\n"
                                     for f in ("first", "second", "third"))
    ex = project.run(project.flow(COUNT.format(op=">= 2", extra=flows), "counter.yaml"))
    outputs = one(ex, "counts").outputs
    assert sorted((r["flowId"], r["count"]) for r in outputs["results"]) == [("second", 2), ("third", 3)]
    assert outputs["total"] == 5
    only_failed = project.run(project.flow(COUNT.format(op=">= 1", extra=flows + "    states: [FAILED]"),
                                           "counter.yaml"))
    assert [(r["flowId"], r["count"]) for r in one(only_failed, "counts").outputs["results"]] == [("second", 2)]
    missing = "    flows:\n      - namespace: tests.count\n        flowId: missing\n" \
              "      - namespace: tests.count\n        flowId: third\n"
    none = project.run(project.flow(COUNT.format(op="== 0", extra=missing), "counter.yaml"))
    assert one(none, "counts").outputs == {"results": [{"namespace": "tests.count", "flowId": "missing",
                                                        "count": 0}], "total": 0}


def test_count_by_namespace_and_without_a_filter_fails(project: Project) -> None:
    _runs(project, "third", False, 2)
    ex = project.run(project.flow(COUNT.format(op="> 0", extra="    namespaces: [tests]"), "counter.yaml"))
    results = {r["flowId"]: r["count"] for r in one(ex, "counts").outputs["results"]}
    assert results["third"] == 2 and results["counter"] == 1  # the running execution counts too
    bad = project.run(project.flow(COUNT.format(op="> 0", extra=""), "counter.yaml"))
    assert bad.state == "FAILED" and "set `flows` or `namespaces`" in one(bad, "counts").error


WAITING = """
id: waiting
namespace: tests.resume
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: reason
        type: STRING
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.pause.onResume.reason }}"
"""

RESUMER = """
id: resumer
namespace: tests.resume
inputs:
  - id: target
    type: STRING
    defaults: ""
tasks:
  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    {how}
    inputs:
      reason: approved by {{{{ flow.id }}}}
"""


@pytest.mark.parametrize("how", ["executionId: \"{{ inputs.target }}\"",
                                 "namespace: tests.resume\n    flowId: waiting"])
def test_resume_hands_the_paused_execution_to_the_next_tick(project: Project, how: str) -> None:
    waiting = project.run(project.flow(WAITING, "waiting.yaml"))
    assert waiting.state == "PAUSED"
    resumer = project.run(project.flow(RESUMER.format(how=how), "resumer.yaml"), {"target": waiting.id})
    assert resumer.state == "SUCCESS", one(resumer, "resume").error
    report = run_tick(str(project.home), str(project.root), None)
    assert [(r["executionId"], r["state"]) for r in report.resumed] == [(waiting.id, "SUCCESS")]
    from flowrun.app.inspect import show_execution

    doc = show_execution(str(project.home), waiting.id)
    last = next(tr for tr in doc["taskRuns"] if tr["taskId"] == "last")
    assert last["outputs"]["value"] == "approved by resumer"


def test_resume_fails_on_an_execution_that_is_not_paused(project: Project) -> None:
    done = project.run(project.flow("""
        id: done
        namespace: tests.resume
        tasks:
          - id: t
            type: io.kestra.plugin.core.debug.Return
        """, "done.yaml"))
    ex = project.run(project.flow(RESUMER.format(how='executionId: "{{ inputs.target }}"'), "resumer.yaml"),
                     {"target": done.id})
    assert ex.state == "FAILED"
    assert f"execution {done.id} is SUCCESS: only a PAUSED execution can be resumed" in one(ex, "resume").error
    itself = project.run(project.flow(RESUMER.format(how=""), "resumer.yaml"))
    assert itself.state == "FAILED" and "is RUNNING" in one(itself, "resume").error


SCHEDULED = """
id: scheduled
namespace: tests.toggle
tasks:
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
    recoverMissedSchedules: NONE
"""

TOGGLE = """
id: toggler
namespace: tests.toggle
tasks:
  - id: toggle
    type: io.kestra.plugin.core.trigger.Toggle
    namespace: tests.toggle
    flowId: scheduled
    trigger: {trigger}
    enabled: {enabled}
"""


def test_toggle_disables_and_enables_a_trigger_for_tick(project: Project) -> None:
    project.flow(SCHEDULED, "scheduled.yaml")
    toggler = project.flow(TOGGLE.format(trigger="every_minute", enabled="false"), "toggler.yaml")
    assert len(run_tick(str(project.home), str(project.root), "2030-01-01T00:00:00Z").runs) == 1
    assert project.run(toggler).state == "SUCCESS"
    assert run_tick(str(project.home), str(project.root), "2030-01-01T00:01:00Z").runs == []
    project.flow(TOGGLE.format(trigger="every_minute", enabled="true"), "toggler.yaml")
    assert project.run(toggler).state == "SUCCESS"
    assert [r["date"] for r in run_tick(str(project.home), str(project.root), "2030-01-01T00:02:00Z").runs] \
        == ["2030-01-01T00:02:00Z"]


def test_toggle_of_an_unknown_trigger_fails(project: Project) -> None:
    project.flow(SCHEDULED, "scheduled.yaml")
    ex = project.run(project.flow(TOGGLE.format(trigger="nightly", enabled="true"), "toggler.yaml"))
    assert ex.state == "FAILED"
    assert "Unable to find trigger nightly for the flow tests.toggle.scheduled (its triggers: every_minute)" \
        in one(ex, "toggle").error
