"""Failures inside flowables run as Kestra runs them: failing branches, local `errors` handlers, AllowFailure and
`allowFailure`, and no new children after a failure; each expectation sourced from Kestra. The flows are in
tests/flows/flowables/."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ids, one, runs


# -- failing branches and local errors handlers -----------------------------------------------------------
def test_parallel_failing_branch(project: Any) -> None:
    # Source: ParallelTest.parallelFailWithFlowable (flows/valids/parallel-fail-with-flowable.yaml):
    # 5 task runs, execution FAILED; the failing If branch fails on an undefined variable. (Kestra's flow reads
    # `vars.nonexistent_variable`, which `flowrun validate` now rejects before the run; a name only known to be
    # missing at run time keeps the test's point.)
    ex = project.run(project.flow_file("flowables/parallel-fail-with-flowable.yaml"))
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 5
    assert one(ex, "parallel").state == "FAILED"
    assert one(ex, "if-2").state == "FAILED"
    assert one(ex, "fail_missing_variable").state == "FAILED"
    assert one(ex, "sleep").state == "SUCCESS"


def test_parallel_errors_branch(project: Any) -> None:
    # Source: ParallelTest.errors (flows/valids/finally-parallel.yaml, failed=true) minus its `finally`
    # (not in 0.21): seq, p1-p3, if, ko, e1, e2 -> 8 task runs; ko FAILED, e1/e2 SUCCESS in order, FAILED.
    ex = project.run(project.flow_file("flowables/errors-parallel.yaml"))
    assert ex.state == "FAILED"
    assert sorted(ids(ex)) == sorted(["seq", "p1", "p2", "p3", "if", "ko", "e1", "e2"])
    assert one(ex, "ko").state == "FAILED"
    assert one(ex, "seq").state == "FAILED"
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "e2").start_date >= one(ex, "e1").end_date
    assert one(ex, "e1").outputs == {"value": "e1"}


def test_dag_errors_branch(project: Any) -> None:
    # Source: DagTest.errors (flows/valids/finally-dag.yaml, failed=true) minus its `finally` (not in 0.21):
    # dag, t1, t2, t3, ko, e1, e2 -> 7 task runs; ko FAILED, e1 then e2 SUCCESS, execution FAILED.
    ex = project.run(project.flow_file("flowables/errors-dag.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["dag", "t1", "t2", "t3", "ko", "e1", "e2"]
    assert (one(ex, "ko").state, one(ex, "t3").state, one(ex, "dag").state) == ("FAILED", "FAILED", "FAILED")
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "e2").start_date >= one(ex, "e1").end_date


def test_errors_inside_sequential(project: Any) -> None:
    # Source: SequentialTest.sequentialWithLocalErrors (flows/valids/sequential-with-local-errors.yaml):
    # 6 task runs, FAILED (the local errors branch runs but does not rescue; kestra-dialect.md §3.3).
    ex = project.run(project.flow_file("flowables/sequential-with-local-errors.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["parent-seq", "t1", "t2_seq", "t2-t1", "error-t1", "error-t2"]
    assert (one(ex, "t2_seq").state, one(ex, "parent-seq").state) == ("FAILED", "FAILED")
    assert one(ex, "error-t2").outputs == {"value": "Error Trigger ! error-t2"}
    assert one(ex, "error-t1").parent_id == one(ex, "t2_seq").id


def test_errors_inside_foreach(project: Any) -> None:
    # Source: ForEachTest.errors (flows/valids/foreach-error.yaml): 3 failing groups at once, then e1 and e2:
    # 6 task runs, FAILED, e1/e2 SUCCESS.
    ex = project.run(project.flow_file("flowables/each-error.yaml"), max_parallel=16)
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 6
    assert sorted(tr.value for tr in runs(ex, "ko")) == ["1", "2", "3"]
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "each").state == "FAILED"


# -- AllowFailure, allowFailure ---------------------------------------------------------------------------
def _allow_failure_control(ex: Any) -> None:
    states = {tid: one(ex, tid).state for tid in
              ("first", "1-1-allow-failure", "1-1-1_seq", "1-1-1-1", "ko", "local-error", "1-2-todo")}
    assert states == {"first": "WARNING", "1-1-allow-failure": "WARNING", "1-1-1_seq": "FAILED",
                      "1-1-1-1": "SUCCESS", "ko": "FAILED", "local-error": "SUCCESS", "1-2-todo": "SUCCESS"}
    assert not runs(ex, "1-1-1-3")
    assert one(ex, "local-error").outputs == {"value": "Error Trigger ! local-error"}


def test_allow_failure_task(project: Any) -> None:
    # Source: AllowFailureTest.success (flows/valids/allow-failure.yaml): 9 task runs, WARNING, no global error.
    ex = project.run(project.flow_file("flowables/allow-failure.yaml"))
    assert ex.state == "WARNING"
    assert len(ex.task_runs) == 9
    _allow_failure_control(ex)
    assert not runs(ex, "global-error")
    assert one(ex, "last").state == "SUCCESS"


def test_allow_failure_then_a_real_failure(project: Any) -> None:
    # Source: AllowFailureTest.failed (same flow with `crash`): 10 task runs, FAILED, global-error SUCCESS.
    ex = project.run(project.flow_file("flowables/allow-failure.yaml"), {"crash": "true"})
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 10
    _allow_failure_control(ex)
    assert one(ex, "global-error").state == "SUCCESS"
    assert (one(ex, "switch").state, one(ex, "crash").state) == ("FAILED", "FAILED")


def test_allow_failure_property_on_a_flowable(project: Any) -> None:
    # Source: kestra.io/docs/workflow-components/errors ("allowFailure ... downstream tasks continue ... the
    # execution will end in a WARNING state") and kestra-dialect.md §3.3 (flowable FAILED -> WARNING).
    ex = project.run(project.flow_file("flowables/allow-failure-flowable.yaml"))
    assert ex.state == "WARNING"
    assert ids(ex) == ["block", "ko", "local-error", "after"]
    assert (one(ex, "block").state, one(ex, "ko").state) == ("WARNING", "FAILED")
    assert one(ex, "after").outputs == {"value": "after"}


# -- no new children after a failure ----------------------------------------------------------------------
@pytest.mark.parametrize("container", ["parallel", "foreach"])
def test_no_new_children_after_a_failure(project: Any, container: str) -> None:
    # Source: kestra-dialect.md §3.2 (FlowableUtils.resolveParallelNexts / resolveSequentialNexts): once a child
    # FAILED, a container bounded to 1 at a time launches nothing more; the execution is FAILED.
    ex = project.run(project.flow_file(f"flowables/stop-after-failure-{container}.yaml"))
    assert ex.state == "FAILED"
    assert one(ex, "block").state == "FAILED"
    if container == "parallel":
        assert ids(ex) == ["block", "ko"]
    else:
        assert ids(ex) == ["block", "ko", "never", "ko"]
        assert [tr.state for tr in runs(ex, "ko")] == ["SUCCESS", "FAILED"]
        assert one(ex, "never").outputs == {"value": "1"}
