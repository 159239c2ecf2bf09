"""Rebuilding a recorded execution for restart, resume and replay: its flow, its task runs, what to reuse."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flowrun.errors import UsageError
from flowrun.model.execution import Attempt, Execution, State, TaskRun
from flowrun.state.protocol import StateStore
from flowrun.state.store import find_execution_row

LOOPS = ("flow.ForEach", "flow.EachSequential", "flow.EachParallel")
ReuseMap = dict[tuple[str, tuple[str, ...]], TaskRun]


def _date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def load_execution(db: StateStore, execution_id: str, unseal: Any) -> Execution:
    row = find_execution_row(db, execution_id)
    if not row["flow_source"]:
        raise UsageError(f"execution `{row['id']}` has no recorded flow source; it cannot be continued")
    execution = Execution(
        id=row["id"], namespace=row["namespace"], flow_id=row["flow_id"], state=row["state"],
        start_date=_date(row["start_date"]) or _date(row["created_at"]),  # type: ignore[arg-type]
        end_date=_date(row["end_date"]), inputs=unseal(json.loads(row["inputs"])),
        labels=[(i["key"], i["value"]) for i in json.loads(row["labels"])],
        outputs=unseal(json.loads(row["outputs"])), trigger=json.loads(row["trigger"]) if row["trigger"] else None,
        histories=json.loads(row["histories"]), parent_id=row["parent_id"], original_id=row["original_id"],
        flow_path=row["flow_path"], flow_source=row["flow_source"], flow_revision=row["flow_revision"],
    )
    execution.task_runs = _load_taskruns(db, execution.id, unseal)
    return execution


def _load_taskruns(db: StateStore, execution_id: str, unseal: Any) -> list[TaskRun]:
    runs: list[TaskRun] = []
    by_id: dict[str, TaskRun] = {}
    for tr in db.task_run_rows(execution_id):
        attempts = [Attempt(a["state"], _date(a["startDate"]), _date(a["endDate"]))  # type: ignore[arg-type]
                    for a in json.loads(tr["attempts"])]
        run = TaskRun(id=tr["id"], execution_id=execution_id, task_id=tr["task_id"], task_type=tr["task_type"],
                      seq=tr["seq"], parent_id=tr["parent_task_run_id"], value=tr["value"],
                      iteration=tr["iteration"], state=tr["state"], start_date=_date(tr["start_date"]),  # type: ignore[arg-type]
                      end_date=_date(tr["end_date"]), outputs=unseal(json.loads(tr["outputs"])),
                      attempts=attempts, error=tr["error"], histories=json.loads(tr["histories"] or "[]"))
        parent = by_id.get(run.parent_id or "")
        if parent is not None:
            loop = (parent.task_type or "").endswith(LOOPS) and run.value is not None
            run.value_path = (*parent.value_path, run.value) if loop else parent.value_path  # type: ignore[arg-type]
        by_id[run.id] = run
        runs.append(run)
    return runs


def reuse_map(runs: list[TaskRun]) -> ReuseMap:
    return {(run.task_id, run.value_path): run for run in runs}


def split_for_replay(runs: list[TaskRun], from_task: str) -> list[TaskRun]:
    """The task runs recorded before `from_task` first started, minus its own subtree."""
    start = next((run.seq for run in runs if run.task_id == from_task), None)
    if start is None:
        raise UsageError(f"task `{from_task}` has no task run in this execution",
                         hint="pick a task id from `flowrun executions show ID`")
    return [run for run in runs if run.seq < start and run.state in (State.SUCCESS, State.WARNING, State.SKIPPED)]
