"""Rebuilding a recorded execution for restart, resume and replay: its flow, its task runs, what to reuse."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from flowrun.errors import UsageError
from flowrun.model.execution import Attempt, Execution, State, TaskRun
from flowrun.state.protocol import StateStore
from flowrun.state.store import find_execution_row

LOOPS = ("flow.ForEach", "flow.EachSequential", "flow.EachParallel")
ReuseMap = dict[tuple[str, tuple[str, ...]], TaskRun]
#: a worker's parsed task runs of one execution: task run id -> (its row's version or values, its parse)
Known = dict[str, tuple[Any, TaskRun]]


def _date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class ParsedRuns:
    """Task runs already parsed from their rows, per execution (the last `size` executions): a Celery worker
    loads the same execution for each of its attempts, and parses again only the rows that changed."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._runs: OrderedDict[str, Known] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, execution_id: str) -> Known:
        """A copy of one execution's parsed runs; `keep` stores it back once updated."""
        with self._lock:
            runs = self._runs.pop(execution_id, {})
            self._runs[execution_id] = runs
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
            return dict(runs)

    def keep(self, execution_id: str, runs: Known) -> None:
        with self._lock:
            if execution_id in self._runs:
                self._runs[execution_id] = runs


def load_execution(db: StateStore, execution_id: str, unseal: Any, parsed: ParsedRuns | None = None) -> Execution:
    """The recorded execution and its task runs; with `parsed`, rows unchanged since the last load are not
    parsed again (each task run is still a copy of its own)."""
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
        variables=unseal(json.loads(row["variables"] or "{}")).get("vars"),
    )
    if parsed is None:
        execution.task_runs = _load_taskruns(db, execution.id, unseal, None)
    else:
        known = parsed.of(execution.id)
        execution.task_runs = _load_taskruns(db, execution.id, unseal, known)
        parsed.keep(execution.id, known)
    return execution


def _load_taskruns(db: StateStore, execution_id: str, unseal: Any, known: Known | None) -> list[TaskRun]:
    """The execution's task runs in order; `known` (task run id -> its row's fingerprint and parse) is reused
    for unchanged rows and updated with the changed ones."""
    if known is None:
        parsed = [_taskrun(tr, execution_id, unseal) for tr in db.task_run_rows(execution_id)]
    else:
        parsed = _known_runs(db, execution_id, unseal, known)
    runs: list[TaskRun] = []
    by_id: dict[str, TaskRun] = {}
    for run in parsed:
        parent = by_id.get(run.parent_id or "")
        if parent is not None:
            loop = (parent.task_type or "").endswith(LOOPS) and run.value is not None
            run.value_path = (*parent.value_path, run.value) if loop else parent.value_path  # type: ignore[arg-type]
        by_id[run.id] = run
        runs.append(run)
    return runs


def _known_runs(db: StateStore, execution_id: str, unseal: Any, known: Known) -> list[TaskRun]:
    """The task runs in order, parsed only where their row changed: where the store keeps row versions, only
    the changed rows are read; elsewhere every row is read and compared."""
    versions = db.task_run_versions(execution_id)
    if versions is None:
        return [_known_or_parsed(tr, tuple(tr.values()), execution_id, unseal, known)
                for tr in db.task_run_rows(execution_id)]
    stale = {id for id, version in versions.items() if known.get(id, (None,))[0] != version}
    if 2 * len(stale) > len(versions):  # most rows are new (a first load): one query for them all
        return [_known_or_parsed(tr, versions.get(tr["id"]), execution_id, unseal, known)
                for tr in db.task_run_rows(execution_id)]
    fresh = {tr["id"]: tr for tr in db.task_run_rows_by_id(execution_id, sorted(stale))} if stale else {}
    runs = []
    for id, version in versions.items():
        if id in fresh:
            runs.append(_known_or_parsed(fresh[id], version, execution_id, unseal, known))
        elif id not in stale:  # a stale row gone since its version was read is left out
            runs.append(_copy(known[id][1]))
    return runs


def _known_or_parsed(tr: Any, fingerprint: Any, execution_id: str, unseal: Any, known: Known) -> TaskRun:
    seen = known.get(tr["id"])
    if seen is not None and seen[0] == fingerprint:
        return _copy(seen[1])
    run = _taskrun(tr, execution_id, unseal)
    known[run.id] = (fingerprint, _copy(run))
    return run


def _taskrun(tr: Any, execution_id: str, unseal: Any) -> TaskRun:
    attempts = [Attempt(a["state"], _date(a["startDate"]), _date(a["endDate"]),  # type: ignore[arg-type]
                        a.get("worker"), bool(a.get("lost"))) for a in json.loads(tr["attempts"])]
    return TaskRun(id=tr["id"], execution_id=execution_id, task_id=tr["task_id"], task_type=tr["task_type"],
                   seq=tr["seq"], parent_id=tr["parent_task_run_id"], value=tr["value"],
                   iteration=tr["iteration"], state=tr["state"], start_date=_date(tr["start_date"]),  # type: ignore[arg-type]
                   end_date=_date(tr["end_date"]), outputs=unseal(json.loads(tr["outputs"])),
                   attempts=attempts, error=tr["error"], histories=json.loads(tr["histories"] or "[]"),
                   worker=tr.get("worker"))


def _copy(run: TaskRun) -> TaskRun:
    """A task run of its own: its fields, and its attempts and histories lists (an executor appends to them),
    copied; its outputs, dates and attempts, which nothing changes in place on a worker, shared."""
    fresh = TaskRun.__new__(TaskRun)
    fresh.__dict__.update(run.__dict__)
    fresh.attempts, fresh.histories = list(run.attempts), list(run.histories)
    return fresh


def reuse_map(runs: list[TaskRun]) -> ReuseMap:
    return {(run.task_id, run.value_path): run for run in runs}


def split_for_replay(runs: list[TaskRun], from_task: str) -> list[TaskRun]:
    """The task runs recorded before `from_task` first started, minus its own subtree."""
    start = next((run.seq for run in runs if run.task_id == from_task), None)
    if start is None:
        raise UsageError(f"task `{from_task}` has no task run in this execution",
                         hint="pick a task id from `flowrun executions show ID`")
    return [run for run in runs if run.seq < start and run.state in (State.SUCCESS, State.WARNING, State.SKIPPED)]
