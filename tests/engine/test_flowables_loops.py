"""Loop flowables (ForEach, EachSequential, EachParallel) run as Kestra runs them: final state, task-run count,
values and outputs, each sourced from Kestra. The flows are in tests/flows/flowables/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import ids, max_overlap, one, runs


# -- ForEach ----------------------------------------------------------------------------------------------
def test_foreach_list(project: Any) -> None:
    # Source: ForEachTest.nonConcurrent (flows/valids/foreach-non-concurrent.yaml): 3 values x 2 tasks + the
    # ForEach -> 7 task runs, SUCCESS; ForEach doc: `taskrun.value` and `taskrun.iteration` in each group.
    ex = project.run(project.flow_file("flowables/foreach-non-concurrent.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 7
    logs = runs(ex, "log")
    assert [tr.value for tr in logs] == ["value 1", "value 2", "value 3"]
    assert [tr.iteration for tr in logs] == [0, 1, 2]
    assert [tr.outputs["value"] for tr in logs] == [f"Processing value {i}, iteration {i - 1}" for i in (1, 2, 3)]
    parent = one(ex, "for_each")
    assert all(tr.parent_id == parent.id for tr in ex.task_runs if tr is not parent)
    # concurrencyLimit defaults to 1: each group ends before the next one starts
    shells = runs(ex, "shell")
    assert all(logs[i + 1].start_date >= shells[i].end_date for i in range(2))


def test_foreach_json_string_values(project: Any) -> None:
    # Source: ForEach plugin doc ("values ... a JSON string or an array") and flows/valids/each-parallel.yaml
    # (JSON-string values); the string is rendered first, then parsed.
    ex = project.run(project.flow_file("flowables/foreach-json.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 4  # duplicates dropped (dialect §4: values are distinct)
    assert [tr.value for tr in runs(ex, "t")] == ["a", "b"]
    assert one(ex, "end").outputs["value"] == "a! b!"


def test_foreach_nested(project: Any) -> None:
    # Source: ForEachTest.nested (flows/valids/foreach-nested.yaml): SUCCESS; inner tasks see the outer value
    # as `parent.taskrun.value` and address outputs as outputs.p1[outer][inner]. Count derived from the flow
    # shape (1 + 2 inner ForEach + 2x3x2 + test = 16), the same rule as EachSequentialTest.sequentialNested.
    ex = project.run(project.flow_file("flowables/foreach-nested.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 16
    assert [tr.value for tr in runs(ex, "each1")] == ["l1", "l2"]
    assert sorted(tr.outputs["value"] for tr in runs(ex, "p2")) == [
        f"{outer}-{inner}" for outer in ("l1", "l2") for inner in ("d1", "d2", "d3")]
    assert one(ex, "test").outputs["value"] == "l2-d3"


@pytest.mark.parametrize("values", ["[]", "'[]'"])
def test_foreach_empty(project: Any, values: str) -> None:
    # Source: ForEachTest.eachEmpty (flows/valids/each-empty.yaml): 2 task runs, SUCCESS.
    ex = project.run(project.flow_file("flowables/each-empty.yaml", values=values))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["1_each", "2_end"]
    assert one(ex, "1_each").state == "SUCCESS"


def test_foreach_object_values(project: Any) -> None:
    # Source: ForEachTest.objectInList (flows/valids/each-object-in-list.yaml): 8 task runs, SUCCESS; map values
    # become JSON text (kestra-dialect.md §4), read back with fromJson(); the 7th run is the my-complex one.
    ex = project.run(project.flow_file("flowables/each-object-in-list.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 8
    assert [tr.value for tr in runs(ex, "is-json")] == [
        "value 1", '{"key":"my-key","value":"my-value"}', '{"key":"my-complex","value":{"sub":1,"bool":true}}']
    assert json.loads(runs(ex, "is-json")[2].value)["value"] == {"sub": 1, "bool": True}
    assert ex.task_runs[6].outputs["value"] == "json > JSON > my-complex"
    assert one(ex, "not-json").outputs["value"] == "not-json > STRING > value 1"


@pytest.mark.parametrize(("limit", "peak"), [(0, 4), (1, 1), (2, 2)])
def test_foreach_concurrency_limit(project: Any, limit: int, peak: int) -> None:
    # Source: ForEachTest.nonConcurrent/concurrent/concurrentNoLimit (foreach-*-concurrent*.yaml: SUCCESS,
    # 1 + values x tasks runs) and the ForEach doc: concurrencyLimit 0 = all groups at once, 1 = one after
    # the other, n = at most n groups running.
    ex = project.run(project.flow_file("flowables/foreach-limit.yaml", limit=limit), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 5
    assert max_overlap(runs(ex, "sleep")) == peak
    assert sorted(tr.value for tr in runs(ex, "sleep")) == ["v1", "v2", "v3", "v4"]


def test_foreach_iteration(project: Any) -> None:
    # Source: ForEachTest.iteration (flows/valids/foreach-iteration.yaml): `second` runs have iteration 0 and 1;
    # integer values become the strings "1" and "2".
    ex = project.run(project.flow_file("flowables/foreach-iteration.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 5
    seconds = runs(ex, "second")
    assert [tr.iteration for tr in seconds] == [0, 1]
    assert [tr.value for tr in seconds] == ["1", "2"]
    assert [str(tr.outputs["values"]["iteration"]) for tr in seconds] == ["0", "1"]


def test_current_each_output_and_parents(project: Any) -> None:
    # Source: CurrentEachOutputFunctionTest.parallel (flows/valids/current-output.yaml): outputs keyed per value
    # at each loop level (outputs.t[v1][v2][v3]), currentEachOutput() and parents[n]. Count derived from the
    # flow shape: 1 + 2 + 4 + 8x2 (first loop) + 1 + 2x2 (second) + 4 (sequentials) = 32.
    ex = project.run(project.flow_file("flowables/current-output.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 32
    returns = [tr.outputs["value"] for tr in runs(ex, "1-1-1_return")]
    assert returns == [f"return-v1{a}-v2{b}-v3{c}" for a in (1, 2) for b in (1, 2) for c in (1, 2)]
    assert [tr.outputs["value"] for tr in runs(ex, "2-1_return")] == ["return-v41", "return-v42"]
    assert one(ex, "2-1-1_return").outputs["value"] == "return-return-v12-v21-v32"


def test_each_with_nested_switch_and_parents(project: Any) -> None:
    # Source: ForEachTest.eachSwitch (flows/valids/each-switch.yaml): 12 task runs, SUCCESS; number-1 outputs
    # "1" and number-2 outputs "2 b" (parents[0] is the inner Switch, parents[1] the outer iteration).
    ex = project.run(project.flow_file("flowables/each-switch.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 12
    assert one(ex, "2-1-1_switch-number-1").outputs["value"] == "1"
    assert one(ex, "2-1-1_switch-number-2").outputs["value"] == "2 b"
    assert [tr.value for tr in runs(ex, "2-1_switch")] == ["a", "b"]
    # a flowable's children carry its value (Kestra's FlowableUtils.resolveTasks; WorkingDirectoryTest#taskrunNested
    # finds a task three levels below an EachParallel by that value)
    assert one(ex, "2-1_switch-letter-b").value == "b"


# -- EachSequential / EachParallel ------------------------------------------------------------------------
def test_each_sequential_with_allowed_failure(project: Any) -> None:
    # Source: EachSequentialTest.sequential (flows/valids/each-sequential.yaml): 11 task runs, WARNING (the
    # AllowFailure block fails for 'value 1' only).
    ex = project.run(project.flow_file("flowables/each-sequential.yaml"))
    assert ex.state == "WARNING"
    assert len(ex.task_runs) == 11
    assert [tr.state for tr in runs(ex, "failed")] == ["WARNING", "SUCCESS", "SUCCESS"]
    assert [tr.state for tr in runs(ex, "1-2")] == ["FAILED", "SUCCESS", "SUCCESS"]
    assert one(ex, "1_each").state == "WARNING"
    assert [tr.outputs["value"] for tr in runs(ex, "1-1")] == [f"1-1 > value {i}" for i in (1, 2, 3)]


def test_each_parallel_nested(project: Any) -> None:
    # Source: EachParallelTest.parallel / parallelNested (flows/valids/each-parallel*.yaml): 8 and 11 task runs,
    # SUCCESS; nested tasks read the value as parents[0].taskrun.value; all groups run at once.
    ex = project.run(project.flow_file("flowables/each-parallel-nested.yaml"), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 11
    assert max_overlap(runs(ex, "2-1-1_t1")) == 3
    assert sorted(tr.outputs["value"] for tr in runs(ex, "2-1-2_t2")) == [
        f"2-1-2_t2 > value {i}" for i in (1, 2, 3)]


# -- values that are not allowed or need rendering --------------------------------------------------------
def test_foreach_null_value_fails(project: Any) -> None:
    # Source: EachSequentialTest.eachNull (flows/valids/each-null.yaml): a null among the values -> 1 task run,
    # FAILED (FlowableUtils.resolveEachTasks: "Found '1' null values on Each").
    ex = project.run(project.flow_file("flowables/each-null.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["1_each"]
    assert "null" in (one(ex, "1_each").error or "")


def test_foreach_map_values_are_rendered(project: Any) -> None:
    # Once a difference from Kestra (now fixed). Source: FlowableUtils.resolveEachTasks (kestra-io/kestra
    # core/runners): a Map element is runContext.render(map) then written as JSON; kestra-dialect.md §4 "maps
    # rendered then JSON-serialised".
    ex = project.run(project.flow_file("flowables/foreach-map-render.yaml"))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 2
    assert one(ex, "r").value == '{"name":"ana"}'
    assert one(ex, "r").outputs == {"value": "ana"}


def test_foreach_boolean_value_fails(project: Any) -> None:
    # Once a difference from Kestra (now fixed). Source: FlowableUtils.resolveEachTasks: list elements must be
    # String, Integer/Number or Map, anything else throws IllegalVariableEvaluationException -> the ForEach task
    # run FAILED, no child runs.
    ex = project.run(project.flow_file("flowables/foreach-bool.yaml"))
    assert ex.state == "FAILED"
    assert ids(ex) == ["each"]
