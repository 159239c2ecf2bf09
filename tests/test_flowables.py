"""Flowable tasks run as Kestra runs them: final state, task-run count and outputs, each sourced from Kestra."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from flowrun.tasks.registry import task_class

FLOW = "io.kestra.plugin.core.flow"


def runs(execution: Any, task_id: str) -> list[Any]:
    return [tr for tr in execution.task_runs if tr.task_id == task_id]


def one(execution: Any, task_id: str) -> Any:
    found = runs(execution, task_id)
    assert len(found) == 1, f"{task_id}: {len(found)} task runs"
    return found[0]


def ids(execution: Any) -> list[str]:
    return [tr.task_id for tr in execution.task_runs]


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


# -- If ---------------------------------------------------------------------------------------------------
IF_FLOW = f"""
id: if-condition
namespace: io.kestra.tests
inputs:
  - id: param
    type: STRING
tasks:
  - id: if
    type: {FLOW}.If
    condition: "{{{{ inputs.param }}}}"
    then:
      - id: when-true
        type: io.kestra.plugin.core.log.Log
        message: then-branch
    else:
      - id: when-false
        type: io.kestra.plugin.core.log.Log
        message: else-branch
"""


@pytest.mark.parametrize(("param", "branch", "result"), [
    ("true", "when-true", True), ("1", "when-true", True),
    ("false", "when-false", False), ("0", "when-false", False), ("-0", "when-false", False),
])
def test_if_then_else(project: Any, param: str, branch: str, result: bool) -> None:
    # Source: IfTest.ifTruthy / IfTest.ifFalsy (test/java/io/kestra/plugin/core/flow/IfTest.java,
    # flows/valids/if-condition.yaml): 2 task runs, the chosen branch SUCCESS, execution SUCCESS.
    ex = project.run(project.flow(IF_FLOW), {"param": param})
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if", branch]
    assert one(ex, branch).state == "SUCCESS"
    assert one(ex, "if").outputs == {"evaluationResult": result}


def test_if_without_else_false_is_success(project: Any) -> None:
    # Source: IfTest.ifWithoutElse (flows/valids/if-without-else.yaml): false and no else -> 1 task run, SUCCESS.
    text = IF_FLOW.split("    else:")[0]
    ex = project.run(project.flow(text), {"param": "false"})
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if"]
    assert one(ex, "if").state == "SUCCESS"
    ex = project.run(project.flow(text), {"param": "true"})
    assert (ex.state, ids(ex)) == ("SUCCESS", ["if", "when-true"])


# -- Switch -----------------------------------------------------------------------------------------------
SWITCH_FLOW = f"""
id: switch
namespace: io.kestra.tests
inputs:
  - id: string
    type: STRING
tasks:
  - id: parent-seq
    type: {FLOW}.Switch
    value: "{{{{ inputs.string }}}}"
    cases:
      FIRST:
        - id: t1
          type: io.kestra.plugin.core.debug.Return
          format: "{{{{ task.id }}}}"
      SECOND:
        - id: t2
          type: io.kestra.plugin.core.debug.Return
          format: "{{{{ task.id }}}}"
        - id: t2_sub
          type: io.kestra.plugin.core.debug.Return
          format: "{{{{ task.id }}}}"
      THIRD:
        - id: t3
          type: {FLOW}.Sequential
          tasks:
            - id: failed
              type: io.kestra.plugin.core.execution.Fail
          errors:
            - id: error-t1
              type: io.kestra.plugin.core.debug.Return
              format: "Error Trigger ! {{{{ task.id }}}}"
    defaults:
      - id: default
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ task.id }}}}"
"""


@pytest.mark.parametrize(("value", "expected_ids", "defaults", "state"), [
    ("FIRST", ["parent-seq", "t1"], False, "SUCCESS"),
    ("SECOND", ["parent-seq", "t2", "t2_sub"], False, "SUCCESS"),
    ("THIRD", ["parent-seq", "t3", "failed", "error-t1"], False, "FAILED"),
    ("DEFAULT", ["parent-seq", "default"], True, "SUCCESS"),
])
def test_switch_cases_and_defaults(project: Any, value: str, expected_ids: list[str], defaults: bool,
                                   state: str) -> None:
    # Source: SwitchTest.switchFirst/Second/Third/Default (flows/valids/switch.yaml): the task-run order,
    # outputs `value` and `defaults`; THIRD fails inside a Sequential whose local errors branch runs.
    ex = project.run(project.flow(SWITCH_FLOW), {"string": value})
    assert ids(ex) == expected_ids
    assert one(ex, "parent-seq").outputs == {"value": value, "defaults": defaults}
    assert ex.state == state
    assert one(ex, "parent-seq").state == state


def test_switch_without_match_or_defaults_fails(project: Any) -> None:
    # Source: SwitchTest.switchImpossible (flows/valids/switch-impossible.yaml): no case, `defaults: null` ->
    # execution FAILED; kestra-dialect.md §4 ("No task found").
    ex = project.run(project.flow(f"""
        id: switch-impossible
        namespace: io.kestra.tests
        tasks:
          - id: impossible
            type: {FLOW}.Switch
            value: impossible
            cases:
              "NO":
                - id: date
                  type: io.kestra.plugin.core.debug.Return
                  format: "{{{{ taskrun.startDate }}}}"
            defaults: null
    """))
    assert ex.state == "FAILED"
    assert ids(ex) == ["impossible"]
    assert one(ex, "impossible").state == "FAILED"


# -- Sequential -------------------------------------------------------------------------------------------
def test_sequential_nested(project: Any) -> None:
    # Source: kestra.io docs, Sequential example (developer-guide/flowable): groups run in order, then `last`.
    ex = project.run(project.flow(f"""
        id: sequential
        namespace: io.kestra.tests
        tasks:
          - id: sequential
            type: {FLOW}.Sequential
            tasks:
              - id: 1st
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: inner
                type: {FLOW}.Sequential
                tasks:
                  - id: 2nd
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ outputs['1st'].value }}}}-{{{{ task.id }}}}"
          - id: last
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ outputs['2nd'].value }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["sequential", "1st", "inner", "2nd", "last"]
    assert one(ex, "last").outputs["value"] == "1st-2nd"
    assert one(ex, "2nd").parent_id == one(ex, "inner").id
    assert one(ex, "inner").parent_id == one(ex, "sequential").id


# -- Parallel ---------------------------------------------------------------------------------------------
def _parallel_flow(concurrent: int | None, count: int = 6) -> str:
    children = "".join(f"""
              - id: t{i}
                type: {FLOW}.Sleep
                duration: PT0.2S""" for i in range(1, count + 1))
    limit = f"\n            concurrent: {concurrent}" if concurrent is not None else ""
    return f"""
        id: parallel
        namespace: io.kestra.tests
        tasks:
          - id: parent
            type: {FLOW}.Parallel{limit}
            tasks:{children}
          - id: last
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """


@pytest.mark.parametrize(("concurrent", "peak"), [(None, 6), (0, 6), (2, 2)])
def test_parallel_concurrent(project: Any, concurrent: int | None, peak: int) -> None:
    # Source: ParallelTest.parallel (flows/valids/parallel.yaml: 6 children + `last` -> 8 task runs) and
    # the Parallel plugin doc (`concurrent`: 0 = all at once, else at most that many running).
    ex = project.run(project.flow(_parallel_flow(concurrent)), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 8
    children = [tr for tr in ex.task_runs if tr.task_id.startswith("t")]
    assert max_overlap(children) == peak
    last = one(ex, "last")
    assert all(last.start_date >= tr.end_date for tr in children)
    assert last.outputs == {"value": "last"}


def test_parallel_failing_branch(project: Any) -> None:
    # Source: ParallelTest.parallelFailWithFlowable (flows/valids/parallel-fail-with-flowable.yaml):
    # 5 task runs, execution FAILED; the failing If branch fails on an undefined variable. (Kestra's flow reads
    # `vars.nonexistent_variable`, which `flowrun validate` now rejects before the run; a name only known to be
    # missing at run time keeps the test's point.)
    ex = project.run(project.flow(f"""
        id: parallel-fail-with-flowable
        namespace: io.kestra.tests
        tasks:
          - id: parallel
            type: {FLOW}.Parallel
            tasks:
              - id: if-1
                type: {FLOW}.If
                condition: "true"
                then:
                  - id: sleep
                    type: {FLOW}.Sleep
                    duration: PT0.3S
              - id: if-2
                type: {FLOW}.If
                condition: "true"
                then:
                  - id: fail_missing_variable
                    type: io.kestra.plugin.core.log.Log
                    message: "{{{{ execution.nonexistent_variable }}}}"
    """))
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 5
    assert one(ex, "parallel").state == "FAILED"
    assert one(ex, "if-2").state == "FAILED"
    assert one(ex, "fail_missing_variable").state == "FAILED"
    assert one(ex, "sleep").state == "SUCCESS"


def test_parallel_errors_branch(project: Any) -> None:
    # Source: ParallelTest.errors (flows/valids/finally-parallel.yaml, failed=true) minus its `finally`
    # (not in 0.21): seq, p1-p3, if, ko, e1, e2 -> 8 task runs; ko FAILED, e1/e2 SUCCESS in order, FAILED.
    ex = project.run(project.flow(f"""
        id: errors-parallel
        namespace: io.kestra.tests
        tasks:
          - id: seq
            type: {FLOW}.Parallel
            tasks:
              - id: p1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: p2
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: p3
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: if
                type: {FLOW}.If
                condition: "false"
                then:
                  - id: ok
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ task.id }}}}"
                else:
                  - id: ko
                    type: io.kestra.plugin.core.execution.Fail
            errors:
              - id: e1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: e2
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "FAILED"
    assert sorted(ids(ex)) == sorted(["seq", "p1", "p2", "p3", "if", "ko", "e1", "e2"])
    assert one(ex, "ko").state == "FAILED"
    assert one(ex, "seq").state == "FAILED"
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "e2").start_date >= one(ex, "e1").end_date
    assert one(ex, "e1").outputs == {"value": "e1"}


# -- ForEach ----------------------------------------------------------------------------------------------
def test_foreach_list(project: Any) -> None:
    # Source: ForEachTest.nonConcurrent (flows/valids/foreach-non-concurrent.yaml): 3 values x 2 tasks + the
    # ForEach -> 7 task runs, SUCCESS; ForEach doc: `taskrun.value` and `taskrun.iteration` in each group.
    ex = project.run(project.flow(f"""
        id: foreach-non-concurrent
        namespace: io.kestra.tests
        tasks:
          - id: for_each
            type: {FLOW}.ForEach
            values: ["value 1", "value 2", "value 3"]
            tasks:
              - id: log
                type: io.kestra.plugin.core.debug.Return
                format: "Processing {{{{ taskrun.value }}}}, iteration {{{{ taskrun.iteration }}}}"
              - id: shell
                type: io.kestra.plugin.core.log.Log
                message: 2nd task
    """))
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
    ex = project.run(project.flow(f"""
        id: foreach-json
        namespace: io.kestra.tests
        variables:
          list: '["a", "b", "a"]'
        tasks:
          - id: each
            type: {FLOW}.ForEach
            values: "{{{{ vars.list }}}}"
            tasks:
              - id: t
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}!"
          - id: end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ outputs.t.a.value }}}} {{{{ outputs.t['b'].value }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 4  # duplicates dropped (dialect §4: values are distinct)
    assert [tr.value for tr in runs(ex, "t")] == ["a", "b"]
    assert one(ex, "end").outputs["value"] == "a! b!"


def test_foreach_nested(project: Any) -> None:
    # Source: ForEachTest.nested (flows/valids/foreach-nested.yaml): SUCCESS; inner tasks see the outer value
    # as `parent.taskrun.value` and address outputs as outputs.p1[outer][inner]. Count derived from the flow
    # shape (1 + 2 inner ForEach + 2x3x2 + test = 16), the same rule as EachSequentialTest.sequentialNested.
    ex = project.run(project.flow(f"""
        id: foreach-nested
        namespace: io.kestra.tests
        tasks:
          - id: each0
            type: {FLOW}.ForEach
            values: ["l1", "l2"]
            tasks:
              - id: each1
                type: {FLOW}.ForEach
                concurrencyLimit: 0
                values: ["d1", "d2", "d3"]
                tasks:
                  - id: p1
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ parent.taskrun.value }}}}-{{{{ taskrun.value }}}}"
                  - id: p2
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ outputs.p1[parent.taskrun.value][taskrun.value].value }}}}"
          - id: test
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ outputs.p1.l2.d3.value }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 16
    assert [tr.value for tr in runs(ex, "each1")] == ["l1", "l2"]
    assert sorted(tr.outputs["value"] for tr in runs(ex, "p2")) == [
        f"{outer}-{inner}" for outer in ("l1", "l2") for inner in ("d1", "d2", "d3")]
    assert one(ex, "test").outputs["value"] == "l2-d3"


@pytest.mark.parametrize("values", ["[]", "'[]'"])
def test_foreach_empty(project: Any, values: str) -> None:
    # Source: ForEachTest.eachEmpty (flows/valids/each-empty.yaml): 2 task runs, SUCCESS.
    ex = project.run(project.flow(f"""
        id: each-empty
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.ForEach
            values: {values}
            tasks:
              - id: 1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["1_each", "2_end"]
    assert one(ex, "1_each").state == "SUCCESS"


def test_foreach_object_values(project: Any) -> None:
    # Source: ForEachTest.objectInList (flows/valids/each-object-in-list.yaml): 8 task runs, SUCCESS; map values
    # become JSON text (kestra-dialect.md §4), read back with fromJson(); the 7th run is the my-complex one.
    ex = project.run(project.flow(f"""
        id: each-object-in-list
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.ForEach
            values:
              - value 1
              - {{"key": "my-key", "value": "my-value"}}
              - key: my-complex
                value:
                  sub: 1
                  bool: true
            tasks:
              - id: is-json
                type: {FLOW}.Switch
                value: "{{{{ taskrun.value is json }}}}"
                cases:
                  "false":
                    - id: not-json
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{{{ task.id }}}} > STRING > {{{{ parent.taskrun.value }}}}"
                defaults:
                  - id: json
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ task.id }}}} > JSON > {{{{ fromJson(parent.taskrun.value).key }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """))
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
    ex = project.run(project.flow(f"""
        id: foreach-limit
        namespace: io.kestra.tests
        tasks:
          - id: for_each
            type: {FLOW}.ForEach
            values: ["v1", "v2", "v3", "v4"]
            concurrencyLimit: {limit}
            tasks:
              - id: sleep
                type: {FLOW}.Sleep
                duration: PT0.2S
    """), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 5
    assert max_overlap(runs(ex, "sleep")) == peak
    assert sorted(tr.value for tr in runs(ex, "sleep")) == ["v1", "v2", "v3", "v4"]


def test_foreach_iteration(project: Any) -> None:
    # Source: ForEachTest.iteration (flows/valids/foreach-iteration.yaml): `second` runs have iteration 0 and 1;
    # integer values become the strings "1" and "2".
    ex = project.run(project.flow(f"""
        id: foreach-iteration
        namespace: io.kestra.tests
        tasks:
          - id: foreach
            type: {FLOW}.ForEach
            values: [1, 2]
            tasks:
              - id: first
                type: io.kestra.plugin.core.output.OutputValues
                values:
                  iteration: "{{{{ taskrun.iteration }}}}"
              - id: second
                type: io.kestra.plugin.core.output.OutputValues
                values:
                  iteration: "{{{{ taskrun.iteration }}}}"
    """))
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
    ex = project.run(project.flow(f"""
        id: test-current-output
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.EachSequential
            value: '["v11", "v12"]'
            tasks:
              - id: 1-1_each
                type: {FLOW}.EachSequential
                value: '["v21", "v22"]'
                tasks:
                  - id: 1-1-1_each
                    type: {FLOW}.EachSequential
                    value: '["v31", "v32"]'
                    tasks:
                      - id: 1-1-1_output
                        type: io.kestra.plugin.core.debug.Return
                        format: "{{{{ parents[1].taskrun.value }}}}-{{{{ parents[0].taskrun.value }}}}-{{{{ taskrun.value }}}}"
                      - id: 1-1-1_return
                        type: io.kestra.plugin.core.debug.Return
                        format: "return-{{{{ currentEachOutput(outputs['1-1-1_output']).value }}}}"
          - id: 2_each
            type: {FLOW}.EachSequential
            value: '["v41", "v42"]'
            tasks:
              - id: 2-1_output
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}"
              - id: 2-1_return
                type: io.kestra.plugin.core.debug.Return
                format: "return-{{{{ outputs['2-1_output'][taskrun.value].value }}}}"
          - id: 2_sequential
            type: {FLOW}.Sequential
            tasks:
              - id: 2-1_sequential
                type: {FLOW}.Sequential
                tasks:
                  - id: 2-1-1_output
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ outputs['1-1-1_return'].v12.v21.v32.value }}}}"
                  - id: 2-1-1_return
                    type: io.kestra.plugin.core.debug.Return
                    format: "return-{{{{ outputs['2-1-1_output'].value }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 32
    returns = [tr.outputs["value"] for tr in runs(ex, "1-1-1_return")]
    assert returns == [f"return-v1{a}-v2{b}-v3{c}" for a in (1, 2) for b in (1, 2) for c in (1, 2)]
    assert [tr.outputs["value"] for tr in runs(ex, "2-1_return")] == ["return-v41", "return-v42"]
    assert one(ex, "2-1-1_return").outputs["value"] == "return-return-v12-v21-v32"


# -- EachSequential / EachParallel ------------------------------------------------------------------------
def test_each_sequential_with_allowed_failure(project: Any) -> None:
    # Source: EachSequentialTest.sequential (flows/valids/each-sequential.yaml): 11 task runs, WARNING (the
    # AllowFailure block fails for 'value 1' only).
    ex = project.run(project.flow(f"""
        id: each-sequential
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.EachSequential
            value: '["value 1", "value 2", "value 3"]'
            tasks:
              - id: 1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}} > {{{{ taskrun.value }}}}"
              - id: failed
                type: {FLOW}.AllowFailure
                tasks:
                  - id: 1-2
                    type: io.kestra.plugin.core.execution.Fail
                    condition: "{{{{ parent.taskrun.value == 'value 1' }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "WARNING"
    assert len(ex.task_runs) == 11
    assert [tr.state for tr in runs(ex, "failed")] == ["WARNING", "SUCCESS", "SUCCESS"]
    assert [tr.state for tr in runs(ex, "1-2")] == ["FAILED", "SUCCESS", "SUCCESS"]
    assert one(ex, "1_each").state == "WARNING"
    assert [tr.outputs["value"] for tr in runs(ex, "1-1")] == [f"1-1 > value {i}" for i in (1, 2, 3)]


def test_each_parallel_nested(project: Any) -> None:
    # Source: EachParallelTest.parallel / parallelNested (flows/valids/each-parallel*.yaml): 8 and 11 task runs,
    # SUCCESS; nested tasks read the value as parents[0].taskrun.value; all groups run at once.
    ex = project.run(project.flow(f"""
        id: each-parallel-nested
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.EachParallel
            value: '["value 1", "value 2", "value 3"]'
            tasks:
              - id: 2-1_seq
                type: {FLOW}.Sequential
                tasks:
                  - id: 2-1-1_t1
                    type: {FLOW}.Sleep
                    duration: PT0.2S
                  - id: 2-1-2_t2
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ task.id }}}} > {{{{ parents[0].taskrun.value }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 11
    assert max_overlap(runs(ex, "2-1-1_t1")) == 3
    assert sorted(tr.outputs["value"] for tr in runs(ex, "2-1-2_t2")) == [
        f"2-1-2_t2 > value {i}" for i in (1, 2, 3)]


# -- Dag --------------------------------------------------------------------------------------------------
DAG_FLOW = f"""
id: dag
namespace: io.kestra.tests
tasks:
  - id: dag
    type: {FLOW}.Dag
    tasks:
      - task:
          id: task1
          type: {FLOW}.Sleep
          duration: PT0.05S
      - task:
          id: task2
          type: {FLOW}.Sleep
          duration: PT0.05S
        dependsOn: [task1]
      - task:
          id: task3
          type: {FLOW}.Sleep
          duration: PT0.15S
        dependsOn: [task1]
      - task:
          id: task4
          type: {FLOW}.Sleep
          duration: PT0.05S
        dependsOn: [task2]
      - task:
          id: task5
          type: io.kestra.plugin.core.debug.Return
          format: "{{{{ task.id }}}}"
        dependsOn: [task4, task3]
      - task:
          id: task6
          type: io.kestra.plugin.core.debug.Return
          format: "{{{{ task.id }}}}"
        dependsOn: [task2, task3]
"""


def test_dag_ordering(project: Any) -> None:
    # Source: DagTest.dag (flows/valids/dag.yaml): 6 tasks + the Dag -> 7 task runs, SUCCESS; Dag doc: a task
    # starts once every task it dependsOn has ended; independent ones (task2/task3) run side by side.
    ex = project.run(project.flow(DAG_FLOW), max_parallel=16)
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 7
    edges = {"task2": ["task1"], "task3": ["task1"], "task4": ["task2"], "task5": ["task4", "task3"],
             "task6": ["task2", "task3"]}
    for task, deps in edges.items():
        for dep in deps:
            assert one(ex, task).start_date >= one(ex, dep).end_date, f"{task} started before {dep} ended"
    assert one(ex, "task3").start_date < one(ex, "task2").end_date  # siblings overlap
    assert one(ex, "task5").outputs == {"value": "task5"}
    dag = one(ex, "dag")
    assert all(tr.parent_id == dag.id for tr in ex.task_runs if tr is not dag)


def _two_task_dag(deps1: str, deps2: str) -> str:
    return f"""
        id: dag-invalid
        namespace: io.kestra.tests
        tasks:
          - id: dag
            type: {FLOW}.Dag
            tasks:
              - task:
                  id: task1
                  type: io.kestra.plugin.core.log.Log
                  message: one
                dependsOn: {deps1}
              - task:
                  id: task2
                  type: io.kestra.plugin.core.log.Log
                  message: two
                dependsOn: {deps2}
    """


@pytest.mark.parametrize(("deps1", "deps2", "words"), [
    ("[task2]", "[task1]", ["cycle", "task1", "task2"]),
    ("[]", "[taskX]", ["taskX"]),
])
def test_dag_invalid_graph_is_a_validation_error(project: Any, deps1: str, deps2: str, words: list[str]) -> None:
    # Source: DagTest.dagCyclicDependencies / dagNotExistTask (flows/invalids/dag-cyclicdependency.yaml,
    # dag-notexist-task.yaml): one violation naming the cycle (task1, task2) / the unknown id (taskX);
    # for flowrun that is an invalid flow: `flowrun validate` exits 3.
    result = project.cli("validate", str(project.flow(_two_task_dag(deps1, deps2))))
    assert result.code == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    for word in words:
        assert word in output, output


def test_dag_errors_branch(project: Any) -> None:
    # Source: DagTest.errors (flows/valids/finally-dag.yaml, failed=true) minus its `finally` (not in 0.21):
    # dag, t1, t2, t3, ko, e1, e2 -> 7 task runs; ko FAILED, e1 then e2 SUCCESS, execution FAILED.
    ex = project.run(project.flow(f"""
        id: errors-dag
        namespace: io.kestra.tests
        tasks:
          - id: dag
            type: {FLOW}.Dag
            tasks:
              - task:
                  id: t1
                  type: io.kestra.plugin.core.log.Log
                  message: "{{{{ task.id }}}}"
              - task:
                  id: t2
                  type: io.kestra.plugin.core.log.Log
                  message: "{{{{ task.id }}}}"
                dependsOn: [t1]
              - task:
                  id: t3
                  type: {FLOW}.If
                  condition: "false"
                  then:
                    - id: ok
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{{{ task.id }}}}"
                  else:
                    - id: ko
                      type: io.kestra.plugin.core.execution.Fail
                dependsOn: [t2]
            errors:
              - id: e1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: e2
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "FAILED"
    assert ids(ex) == ["dag", "t1", "t2", "t3", "ko", "e1", "e2"]
    assert (one(ex, "ko").state, one(ex, "t3").state, one(ex, "dag").state) == ("FAILED", "FAILED", "FAILED")
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "e2").start_date >= one(ex, "e1").end_date


# -- AllowFailure, allowFailure, errors -------------------------------------------------------------------
ALLOW_FAILURE_FLOW = f"""
id: allow-failure
namespace: io.kestra.tests
inputs:
  - id: crash
    type: BOOLEAN
    defaults: false
tasks:
  - id: first
    type: {FLOW}.Sequential
    tasks:
      - id: 1-1-allow-failure
        type: {FLOW}.AllowFailure
        tasks:
          - id: 1-1-1_seq
            type: {FLOW}.Sequential
            tasks:
              - id: 1-1-1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: 1-1-1-3
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
        errors:
          - id: local-error
            type: io.kestra.plugin.core.debug.Return
            format: "Error Trigger ! {{{{ task.id }}}}"
      - id: 1-2-todo
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ task.id }}}}"
  - id: switch
    type: {FLOW}.Switch
    value: "{{{{ inputs.crash }}}}"
    cases:
      "true":
        - id: crash
          type: io.kestra.plugin.core.execution.Fail
    defaults:
      - id: last
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ task.id }}}}"
errors:
  - id: global-error
    type: io.kestra.plugin.core.debug.Return
    format: "Error Trigger ! {{{{ task.id }}}}"
"""


def _allow_failure_control(ex: Any) -> None:
    states = {tid: one(ex, tid).state for tid in
              ("first", "1-1-allow-failure", "1-1-1_seq", "1-1-1-1", "ko", "local-error", "1-2-todo")}
    assert states == {"first": "WARNING", "1-1-allow-failure": "WARNING", "1-1-1_seq": "FAILED",
                      "1-1-1-1": "SUCCESS", "ko": "FAILED", "local-error": "SUCCESS", "1-2-todo": "SUCCESS"}
    assert not runs(ex, "1-1-1-3")
    assert one(ex, "local-error").outputs == {"value": "Error Trigger ! local-error"}


def test_allow_failure_task(project: Any) -> None:
    # Source: AllowFailureTest.success (flows/valids/allow-failure.yaml): 9 task runs, WARNING, no global error.
    ex = project.run(project.flow(ALLOW_FAILURE_FLOW))
    assert ex.state == "WARNING"
    assert len(ex.task_runs) == 9
    _allow_failure_control(ex)
    assert not runs(ex, "global-error")
    assert one(ex, "last").state == "SUCCESS"


def test_allow_failure_then_a_real_failure(project: Any) -> None:
    # Source: AllowFailureTest.failed (same flow with `crash`): 10 task runs, FAILED, global-error SUCCESS.
    ex = project.run(project.flow(ALLOW_FAILURE_FLOW), {"crash": "true"})
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 10
    _allow_failure_control(ex)
    assert one(ex, "global-error").state == "SUCCESS"
    assert (one(ex, "switch").state, one(ex, "crash").state) == ("FAILED", "FAILED")


def test_allow_failure_property_on_a_flowable(project: Any) -> None:
    # Source: kestra.io/docs/workflow-components/errors ("allowFailure ... downstream tasks continue ... the
    # execution will end in a WARNING state") and kestra-dialect.md §3.3 (flowable FAILED -> WARNING).
    ex = project.run(project.flow(f"""
        id: allow-failure-flowable
        namespace: io.kestra.tests
        tasks:
          - id: block
            type: {FLOW}.Sequential
            allowFailure: true
            tasks:
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: skipped
                type: io.kestra.plugin.core.debug.Return
                format: never
            errors:
              - id: local-error
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
          - id: after
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "WARNING"
    assert ids(ex) == ["block", "ko", "local-error", "after"]
    assert (one(ex, "block").state, one(ex, "ko").state) == ("WARNING", "FAILED")
    assert one(ex, "after").outputs == {"value": "after"}


def test_errors_inside_sequential(project: Any) -> None:
    # Source: SequentialTest.sequentialWithLocalErrors (flows/valids/sequential-with-local-errors.yaml):
    # 6 task runs, FAILED (the local errors branch runs but does not rescue; kestra-dialect.md §3.3).
    ex = project.run(project.flow(f"""
        id: sequential-with-local-errors
        namespace: io.kestra.tests
        tasks:
          - id: parent-seq
            type: {FLOW}.Sequential
            tasks:
              - id: t1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: t2_seq
                type: {FLOW}.Sequential
                tasks:
                  - id: t2-t1
                    type: io.kestra.plugin.core.execution.Fail
                  - id: t2-t2
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{{{ task.id }}}}"
                errors:
                  - id: error-t1
                    type: io.kestra.plugin.core.debug.Return
                    format: "Error Trigger ! {{{{ task.id }}}}"
                  - id: error-t2
                    type: io.kestra.plugin.core.debug.Return
                    format: "Error Trigger ! {{{{ task.id }}}}"
    """))
    assert ex.state == "FAILED"
    assert ids(ex) == ["parent-seq", "t1", "t2_seq", "t2-t1", "error-t1", "error-t2"]
    assert (one(ex, "t2_seq").state, one(ex, "parent-seq").state) == ("FAILED", "FAILED")
    assert one(ex, "error-t2").outputs == {"value": "Error Trigger ! error-t2"}
    assert one(ex, "error-t1").parent_id == one(ex, "t2_seq").id


def test_errors_inside_foreach(project: Any) -> None:
    # Source: ForEachTest.errors (flows/valids/foreach-error.yaml): 3 failing groups at once, then e1 and e2:
    # 6 task runs, FAILED, e1/e2 SUCCESS.
    ex = project.run(project.flow(f"""
        id: each-error
        namespace: io.kestra.tests
        tasks:
          - id: each
            type: {FLOW}.ForEach
            values: '["1", "2", "3"]'
            concurrencyLimit: 0
            tasks:
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
            errors:
              - id: e1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
              - id: e2
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ task.id }}}}"
    """), max_parallel=16)
    assert ex.state == "FAILED"
    assert len(ex.task_runs) == 6
    assert sorted(tr.value for tr in runs(ex, "ko")) == ["1", "2", "3"]
    assert (one(ex, "e1").state, one(ex, "e2").state) == ("SUCCESS", "SUCCESS")
    assert one(ex, "each").state == "FAILED"


# -- WorkingDirectory -------------------------------------------------------------------------------------
def _working_directory_flow() -> str:
    # script tasks are registered, so two shell tasks share the directory as in Kestra's flow (a missing
    # shell.Commands fails this test loudly rather than skipping it)
    task_class("io.kestra.plugin.scripts.shell.Commands")
    first = """
              - id: first
                type: io.kestra.plugin.scripts.shell.Commands
                taskRunner:
                  type: io.kestra.plugin.core.runner.Process
                commands:
                  - mkdir -p out
                  - 'echo "{{ inputs.failed == ''true'' ? ko : taskrun.id }}" > out/stay.txt'
              - id: second
                type: io.kestra.plugin.scripts.shell.Commands
                taskRunner:
                  type: io.kestra.plugin.core.runner.Process
                commands:
                  - test -s out/stay.txt"""
    return f"""
        id: working-directory
        namespace: io.kestra.tests
        inputs:
          - id: failed
            type: STRING
        tasks:
          - id: worker
            type: {FLOW}.WorkingDirectory
            outputFiles:
              - out/*
            tasks:{first}
              - id: disabled
                type: io.kestra.plugin.core.debug.Return
                format: never
                disabled: true
            errors:
              - id: error-t1
                type: io.kestra.plugin.core.debug.Return
                format: "Error Trigger ! {{{{ task.id }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ outputs.worker.outputFiles['out/stay.txt'] }}}}"
    """


def test_working_directory_shares_files(project: Any) -> None:
    # Source: WorkingDirectoryTest.success (flows/valids/working-directory.yaml): the second task sees the file
    # the first wrote; disabled task skipped -> 4 task runs, SUCCESS, 2_end's value is a kestra:// URI.
    ex = project.run(project.flow(_working_directory_flow()), {"failed": "false"})
    assert ex.state == "SUCCESS", [(tr.task_id, tr.state) for tr in ex.task_runs]
    assert ids(ex) == ["worker", "first", "second", "2_end"]
    assert one(ex, "second").state == "SUCCESS"
    assert one(ex, "2_end").outputs["value"].startswith("kestra://")
    assert list(one(ex, "worker").outputs["outputFiles"]) == ["out/stay.txt"]


def test_working_directory_output_files_skip_symlinks_with_a_warning(project: Any, tmp_path: Any) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not for upload")
    task_class("io.kestra.plugin.scripts.shell.Commands")
    ex = project.run(project.flow(f"""
        id: wd-links
        namespace: company.team
        tasks:
          - id: worker
            type: {FLOW}.WorkingDirectory
            outputFiles: ["*.txt"]
            tasks:
              - id: write
                type: io.kestra.plugin.scripts.shell.Commands
                commands: ["echo ok > real.txt", "ln -s {outside} link.txt"]
    """))
    assert ex.state == "SUCCESS", [(tr.task_id, tr.state) for tr in ex.task_runs]
    assert list(one(ex, "worker").outputs["outputFiles"]) == ["real.txt"]
    from flowrun.app.inspect import execution_logs

    logs = execution_logs(str(project.home), ex.id, "worker")
    assert [(x["level"], x["message"]) for x in logs] == [
        ("WARN", "outputFiles: pattern `*.txt` matches `link.txt`, a symlink; symlinks are not uploaded")]


def test_working_directory_failure_runs_errors(project: Any) -> None:
    # Source: WorkingDirectoryTest.failed (same flow, failed=true): 3 task runs (worker, first, error-t1), FAILED.
    ex = project.run(project.flow(_working_directory_flow()), {"failed": "true"})
    assert ex.state == "FAILED"
    assert ids(ex) == ["worker", "first", "error-t1"]
    assert (one(ex, "worker").state, one(ex, "first").state) == ("FAILED", "FAILED")
    assert one(ex, "error-t1").state == "SUCCESS"


# -- edge cases -------------------------------------------------------------------------------------------
def test_foreach_null_value_fails(project: Any) -> None:
    # Source: EachSequentialTest.eachNull (flows/valids/each-null.yaml): a null among the values -> 1 task run,
    # FAILED (FlowableUtils.resolveEachTasks: "Found '1' null values on Each").
    ex = project.run(project.flow(f"""
        id: each-null
        namespace: io.kestra.tests
        tasks:
          - id: 1_each
            type: {FLOW}.EachSequential
            value: '[1, null, {{"key": "my-key", "value": "my-value"}}]'
            tasks:
              - id: 1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}"
    """))
    assert ex.state == "FAILED"
    assert ids(ex) == ["1_each"]
    assert "null" in (one(ex, "1_each").error or "")


def test_flowables_with_only_disabled_children(project: Any) -> None:
    # Source: IfTest.ifWithOnlyDisabledTasks and ForEachTest.disabledTasks (if-with-only-disabled-tasks.yaml,
    # foreach-disabled-tasks.yaml): 1 task run each, SUCCESS.
    ex = project.run(project.flow(f"""
        id: disabled-children
        namespace: io.kestra.tests
        tasks:
          - id: if
            type: {FLOW}.If
            condition: "true"
            then:
              - id: off
                type: io.kestra.plugin.core.log.Log
                message: never
                disabled: true
          - id: each
            type: {FLOW}.ForEach
            values: [a, b]
            tasks:
              - id: off2
                type: io.kestra.plugin.core.log.Log
                message: never
                disabled: true
    """))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["if", "each"]
    assert (one(ex, "if").state, one(ex, "each").state) == ("SUCCESS", "SUCCESS")


def test_each_with_nested_switch_and_parents(project: Any) -> None:
    # Source: ForEachTest.eachSwitch (flows/valids/each-switch.yaml): 12 task runs, SUCCESS; number-1 outputs
    # "1" and number-2 outputs "2 b" (parents[0] is the inner Switch, parents[1] the outer iteration).
    ex = project.run(project.flow(f"""
        id: each-switch
        namespace: io.kestra.tests
        tasks:
          - id: t1
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
          - id: 2_each
            type: {FLOW}.ForEach
            values: '["a", "b"]'
            tasks:
              - id: 2-1_switch
                type: {FLOW}.Switch
                value: "{{{{ taskrun.value }}}}"
                cases:
                  a:
                    - id: 2-1_switch-letter-a
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{{{ task.id }}}}"
                  b:
                    - id: 2-1_switch-letter-b
                      type: io.kestra.plugin.core.debug.Return
                      format: "{{{{ task.id }}}}"
                    - id: 2-1_each
                      type: {FLOW}.ForEach
                      values: '["1", "2"]'
                      tasks:
                        - id: 2-1-1_switch
                          type: {FLOW}.Switch
                          value: "{{{{ taskrun.value }}}}"
                          cases:
                            "1":
                              - id: 2-1-1_switch-number-1
                                type: io.kestra.plugin.core.debug.Return
                                format: "{{{{ parents[0].taskrun.value }}}}"
                            "2":
                              - id: 2-1-1_switch-number-2
                                type: io.kestra.plugin.core.debug.Return
                                format: "{{{{ parents[0].taskrun.value }}}} {{{{ parents[1].taskrun.value }}}}"
          - id: 2_end
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ task.id }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 12
    assert one(ex, "2-1-1_switch-number-1").outputs["value"] == "1"
    assert one(ex, "2-1-1_switch-number-2").outputs["value"] == "2 b"
    assert [tr.value for tr in runs(ex, "2-1_switch")] == ["a", "b"]
    assert one(ex, "2-1_switch-letter-b").value is None  # only direct children of a loop carry its value


@pytest.mark.parametrize("container", ["parallel", "foreach"])
def test_no_new_children_after_a_failure(project: Any, container: str) -> None:
    # Source: kestra-dialect.md §3.2 (FlowableUtils.resolveParallelNexts / resolveSequentialNexts): once a child
    # FAILED, a container bounded to 1 at a time launches nothing more; the execution is FAILED.
    if container == "parallel":
        block = f"""
          - id: block
            type: {FLOW}.Parallel
            concurrent: 1
            tasks:
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: never
                type: io.kestra.plugin.core.debug.Return
                format: never"""
    else:
        block = f"""
          - id: block
            type: {FLOW}.ForEach
            values: ["1", "2", "3"]
            tasks:
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
                condition: "{{{{ taskrun.value == '2' }}}}"
              - id: never
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}\""""
    ex = project.run(project.flow(f"""
        id: stop-after-failure
        namespace: io.kestra.tests
        tasks:{block}
    """))
    assert ex.state == "FAILED"
    assert one(ex, "block").state == "FAILED"
    if container == "parallel":
        assert ids(ex) == ["block", "ko"]
    else:
        assert ids(ex) == ["block", "ko", "never", "ko"]
        assert [tr.state for tr in runs(ex, "ko")] == ["SUCCESS", "FAILED"]
        assert one(ex, "never").outputs == {"value": "1"}


# -- edge cases where flowrun once differed from Kestra (now fixed) --------------------------------------------
def test_switch_cases_with_unquoted_scalar_keys(project: Any) -> None:
    # Source: flows/valids/each-switch.yaml (ForEachTest.eachSwitch) writes its inner cases as bare `1:` / `2:`;
    # Switch.cases is a Map<String, List<Task>> in Kestra, so the keys are strings.
    ex = project.run(project.flow(f"""
        id: switch-scalar-keys
        namespace: io.kestra.tests
        tasks:
          - id: number
            type: {FLOW}.Switch
            value: "{{{{ 1 + 1 }}}}"
            cases:
              1:
                - id: one
                  type: io.kestra.plugin.core.debug.Return
                  format: one
              2:
                - id: two
                  type: io.kestra.plugin.core.debug.Return
                  format: two
          - id: flag
            type: {FLOW}.Switch
            value: "{{{{ 1 == 1 }}}}"
            cases:
              true:
                - id: matched
                  type: io.kestra.plugin.core.debug.Return
                  format: matched
    """))
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["number", "two", "flag", "matched"]


def test_foreach_map_values_are_rendered(project: Any) -> None:
    # Source: FlowableUtils.resolveEachTasks (kestra-io/kestra core/runners): a Map element is
    # runContext.render(map) then written as JSON; kestra-dialect.md §4 "maps rendered then JSON-serialised".
    ex = project.run(project.flow(f"""
        id: foreach-map-render
        namespace: io.kestra.tests
        variables:
          who: ana
        tasks:
          - id: each
            type: {FLOW}.ForEach
            values:
              - name: "{{{{ vars.who }}}}"
            tasks:
              - id: r
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ fromJson(taskrun.value).name }}}}"
    """))
    assert ex.state == "SUCCESS"
    assert len(ex.task_runs) == 2
    assert one(ex, "r").value == '{"name":"ana"}'
    assert one(ex, "r").outputs == {"value": "ana"}


def test_foreach_boolean_value_fails(project: Any) -> None:
    # Source: FlowableUtils.resolveEachTasks: list elements must be String, Integer/Number or Map, anything else
    # throws IllegalVariableEvaluationException -> the ForEach task run FAILED, no child runs.
    ex = project.run(project.flow(f"""
        id: foreach-bool
        namespace: io.kestra.tests
        tasks:
          - id: each
            type: {FLOW}.ForEach
            values: ["a", true]
            tasks:
              - id: r
                type: io.kestra.plugin.core.debug.Return
                format: "{{{{ taskrun.value }}}}"
    """))
    assert ex.state == "FAILED"
    assert ids(ex) == ["each"]
