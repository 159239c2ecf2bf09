"""Kestra's DeduplicateItems and FilterItems on Ion files in real flows, with the outcomes of Kestra's own tests."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Project
from coretask_harness import CORE, FILE_INPUT, file_input, local, run, taskrun

from flowrun.ion import dumps, read_values

DEDUP, FILTER = f"{CORE}.storage.DeduplicateItems", f"{CORE}.storage.FilterItems"
VALID = [{"key": "k1", "value": 1}, {"key": "k2", "value": 2}, {"key": "k3", "value": 3}, {"key": "k4", "value": 4}]
INVALID = [{"key": "k1", "value": 1}, {"key": "k2", "value": "dummy"}, {"key": "k3", "value": 3},
           {"key": "k4", "value": 4}]


def ion_file(project: Project, items: list[dict[str, Any]], name: str = "items.ion") -> str:
    return str(file_input(project, name, "".join(dumps(item) + "\n" for item in items)))


def run_items(project: Project, task: str, items: list[dict[str, Any]], **props: str) -> Any:
    body = "".join(f"    {key}: {value}\n" for key, value in props.items())
    return run(project, f"  - id: items\n    type: {task}\n    from: \"{{{{ inputs.file }}}}\"\n{body}",
               {"file": ion_file(project, items)}, input_decl=FILE_INPUT)


def kept(project: Project, execution: Any) -> list[dict[str, Any]]:
    assert execution.state == "SUCCESS", taskrun(execution, "items").error
    uri = taskrun(execution, "items").outputs["uri"]
    assert uri.endswith(".ion")
    return read_values(local(project, uri))


# -- DeduplicateItems ------------------------------------------------------------------------------------------
def test_deduplicate_given_key_expression(project: Project) -> None:
    """Kestra's DeduplicateItemsTest.shouldDeduplicateFileGivenKeyExpression."""
    items = [{"key": "k1", "value": "v1"}, {"key": "k2", "value": "v1"}, {"key": "k3", "value": "v1"},
             {"key": "k1", "value": "v2"}, {"key": "k2", "value": "v2"}, {"key": "k2", "value": None},
             {"key": "k3", "value": "v2"}, {"key": "k1", "value": "v3"}]
    execution = run_items(project, DEDUP, items, expr='" {{ key }} "')
    assert kept(project, execution) == [{"key": "k2", "value": None}, {"key": "k3", "value": "v2"},
                                        {"key": "k1", "value": "v3"}]
    assert {k: v for k, v in taskrun(execution, "items").outputs.items() if k != "uri"} == {
        "numKeys": 3, "processedItemsTotal": 8, "droppedItemsTotal": 5}


def test_deduplicate_given_a_composite_key(project: Project) -> None:
    """Kestra's DeduplicateItemsTest.shouldDeduplicateFileGivenKeyExpressionReturningArray."""
    items = [{"key": "k1", "v1": "k1", "v2": "v1"}, {"key": "k2", "v1": "k2", "v2": "v1"},
             {"key": "k3", "v1": "k3", "v2": "v1"}, {"key": "k1", "v1": "k1", "v2": "v2"},
             {"key": "k2", "v1": "k2", "v2": None}, {"key": "k3", "v1": "k3", "v2": "v2"},
             {"key": "k1", "v1": "k1", "v2": "v3"}]
    execution = run(project, "  - id: items\n    type: io.kestra.core.tasks.storages.DeduplicateItems\n"
                             "    from: \"{{ inputs.file }}\"\n    expr: \" {{ key }}-{{ v1 }}\"\n",
                    {"file": ion_file(project, items)}, input_decl=FILE_INPUT)
    assert kept(project, execution) == [items[4], items[5], items[6]]
    outputs = taskrun(execution, "items").outputs
    assert (outputs["numKeys"], outputs["processedItemsTotal"], outputs["droppedItemsTotal"]) == (3, 7, 4)


def test_deduplicate_fails_on_a_line_that_is_not_an_ion_struct(project: Project) -> None:
    path = file_input(project, "bad.ion", '{key:"a"}\n[1,2]\n')
    execution = run(project, f"  - id: items\n    type: {DEDUP}\n    from: \"{{{{ inputs.file }}}}\"\n"
                             "    expr: \"{{ key }}\"\n", {"file": str(path)}, input_decl=FILE_INPUT)
    assert execution.state == "FAILED"
    assert "line 2 is not an Ion struct" in taskrun(execution, "items").error


# -- FilterItems -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("items", "props", "expected", "dropped"), [
    (VALID, {"filterType": "INCLUDE"}, ["k2", "k4"], 2),  # shouldFilterGivenValidBooleanExpressionForInclude
    (VALID, {"filterType": "EXCLUDE"}, ["k1", "k3"], 2),  # shouldFilterGivenValidBooleanExpressionForExclude
    (INVALID, {"errorOrNullBehavior": "INCLUDE"}, ["k2", "k4"], 2),  # shouldFilterGivenInvalidRecordsForInclude
    (INVALID, {"errorOrNullBehavior": "EXCLUDE"}, ["k4"], 3),  # shouldFilterGivenInvalidRecordsForExclude
])
def test_filter_items_like_kestra(project: Project, items: list[dict[str, Any]], props: dict[str, str],
                                  expected: list[str], dropped: int) -> None:
    """Kestra's FilterItemsTest, case by case."""
    execution = run_items(project, FILTER, items, filterCondition='" {{ value % 2 == 0 }} "', **props)
    assert [item["key"] for item in kept(project, execution)] == expected
    outputs = taskrun(execution, "items").outputs
    assert (outputs["processedItemsTotal"], outputs["droppedItemsTotal"]) == (4, dropped)


def test_filter_items_non_boolean_condition_is_truthy(project: Project) -> None:
    """Kestra's FilterItemsTest.shouldFilterWithNotMatchGivenNonBooleanValue."""
    execution = run_items(project, FILTER, VALID, filterCondition='"{{ value }}"', errorOrNullBehavior="FAIL")
    assert kept(project, execution) == VALID
    assert taskrun(execution, "items").outputs["droppedItemsTotal"] == 0


def test_filter_items_fails_on_an_error_by_default(project: Project) -> None:
    """Kestra's FilterItemsTest.shouldThrowExceptionGivenInvalidRecordsForFail."""
    execution = run_items(project, FILTER, INVALID, filterCondition='" {{ value % 2 == 0 }}"')
    assert execution.state == "FAILED"
    error = taskrun(execution, "items").error
    assert "template error" in error and "item on line 2" in error and "dummy" in error


def test_filter_items_rejects_an_unknown_filter_type(project: Project) -> None:
    execution = run_items(project, FILTER, VALID, filterCondition='"{{ true }}"', filterType="KEEP")
    assert execution.state == "FAILED"
    assert "`filterType` must be one of INCLUDE, EXCLUDE" in taskrun(execution, "items").error
