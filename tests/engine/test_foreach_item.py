"""ForEachItem: the outcomes of Kestra's ForEachItemCaseTest (batches, one subflow per batch, its task runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from helpers import assert_clean, ids, one

from flowrun import ion


def _items(project: Project, lines: int) -> Path:
    path = project.root / "items.txt"
    path.write_text("".join(f"item {i}\n" for i in range(1, lines + 1)), encoding="utf-8")
    return path


def _flows(project: Project, wait: str = "true", fail_at: int = -1) -> Path:
    project.flow_file("foreach_item/child.yaml", "child.yaml", fail_at=fail_at)
    return project.flow_file("foreach_item/parent.yaml", "parent.yaml", child="for_each_item_child", wait=wait)


def _children(project: Project) -> list[dict[str, Any]]:
    from flowrun.app.inspect import list_executions, show_execution

    found = [e for e in list_executions(str(project.home), "tests.items/for_each_item_child", None, 100)]
    return sorted((show_execution(str(project.home), e["id"]) for e in found),
                  key=lambda doc: doc["trigger"]["taskRunIteration"])


def test_one_subflow_per_batch_as_kestra_records_it(project: Project) -> None:
    """ForEachItemCaseTest.forEachItem: 4 task runs, numberOfBatches, iterations per state, taskrun.items."""
    parent = _flows(project)
    ex = project.run(parent, {"file": str(_items(project, 10)), "batch": 4})
    assert ex.state == "SUCCESS"
    assert ids(ex) == ["each", "each_split", "each_items", "each_merge"]
    items = one(ex, "each_items")
    assert [a.state for a in items.attempts] == ["SUCCESS"]
    assert items.outputs["numberOfBatches"] == 3
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}
    children = _children(project)
    assert [c["trigger"]["taskRunIteration"] for c in children] == [0, 1, 2]
    assert all(c["state"] == "SUCCESS" and c["parentId"] == ex.id for c in children)
    assert all(f"/executions/{ex.id}/tasks/each-split/" in c["inputs"]["items"] for c in children)
    assert [c["taskRuns"][0]["outputs"]["value"] for c in children] == \
        ["item 1\nitem 2\nitem 3\nitem 4", "item 5\nitem 6\nitem 7\nitem 8", "item 9\nitem 10"]
    correlation = {label["key"]: label["value"] for label in children[0]["labels"]}["system.correlationId"]
    assert correlation == ex.id
    merged = project.home / "storage" / one(ex, "each_merge").outputs["subflowOutputs"].removeprefix("kestra:///")
    assert ion.read_values(merged) == [{"first": "item 1"}, {"first": "item 5"}, {"first": "item 9"}]


def test_a_failed_batch_fails_the_items_task_run(project: Project) -> None:
    """ForEachItemCaseTest.forEachItemFailed: FAILED, 3 task runs (no merge), the items attempt FAILED."""
    ex = project.run(_flows(project, fail_at=1), {"file": str(_items(project, 10)), "batch": 4})
    assert ex.state == "FAILED" and ids(ex) == ["each", "each_split", "each_items"]
    items = one(ex, "each_items")
    assert [a.state for a in items.attempts] == ["FAILED"]
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 2, "FAILED": 1}
    assert items.error == "1 of 3 subflow executions failed"


def test_empty_items_run_no_subflow(project: Project) -> None:
    """ForEachItemCaseTest.forEachItemEmptyItems: SUCCESS, 4 task runs, no outputs on the items task run."""
    ex = project.run(_flows(project), {"file": str(_items(project, 0)), "batch": 4})
    assert ex.state == "SUCCESS" and len(ex.task_runs) == 4
    assert one(ex, "each_items").outputs == {} and _children(project) == []


def test_without_wait_the_subflows_run_in_the_background(project: Project) -> None:
    """ForEachItemCaseTest.forEachItemNoWait: iterations count them SUCCESS at once, no CREATED."""
    ex = project.run(_flows(project, wait="false"), {"file": str(_items(project, 5)), "batch": 2})
    assert ex.state == "SUCCESS"
    assert one(ex, "each_items").outputs["iterations"] == {"RUNNING": 0, "SUCCESS": 3}
    assert [c["state"] for c in _children(project)] == ["SUCCESS"] * 3  # joined before the command ends


@pytest.mark.parametrize(("batch", "expected"), [("partitions: 2", 2), ("bytes: 14", 3), ("rows: 1", 5)])
def test_batches_by_partitions_bytes_or_rows(project: Project, batch: str, expected: int) -> None:
    _flows(project)
    text = (project.root / "flows" / "parent.yaml").read_text()
    parent = project.flow(text.replace('rows: "{{ inputs.batch }}"', batch), "parent.yaml")
    ex = project.run(parent, {"file": str(_items(project, 5))})
    assert ex.state == "SUCCESS" and one(ex, "each_items").outputs["numberOfBatches"] == expected


def test_items_that_are_not_a_storage_uri_fail_the_split(project: Project) -> None:
    _flows(project)
    text = (project.root / "flows" / "parent.yaml").read_text()
    parent = project.flow(text.replace('items: "{{ inputs.file }}"', "items: /etc/hosts"), "parent.yaml")
    ex = project.run(parent, {"file": str(_items(project, 1))})
    assert ex.state == "FAILED"
    assert "Unable to split the items from /etc/hosts, this is not an internal storage URI!" in \
        one(ex, "each_split").error


def test_a_resume_in_another_process_runs_the_batches(project: Project) -> None:
    """Run in one CLI process (PAUSED before the ForEachItem), resume in a new one: the subflows run there."""
    project.flow_file("foreach_item/child.yaml", "child.yaml", fail_at=-1)
    parent = project.flow_file("foreach_item/after-pause.yaml", "after-pause.yaml")
    first = project.cli("run", str(parent), "--input", f"file={_items(project, 6)}", "--json")
    assert_clean(first, 5)
    resumed = project.cli("resume", first.json()["id"], "--json")
    assert_clean(resumed, 0)
    doc = resumed.json()
    assert [tr["taskId"] for tr in doc["taskRuns"]] == ["approve", "each", "each_split", "each_items",
                                                        "each_merge", "summary"]
    assert doc["taskRuns"][-1]["outputs"]["value"] == "2 2"
    assert [c["state"] for c in _children(project)] == ["SUCCESS", "SUCCESS"]
    assert json.loads(json.dumps(doc["taskRuns"][0]["histories"]))[-1]["state"] == "SUCCESS"
