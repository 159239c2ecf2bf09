"""The rows of the live view that fit a terminal: finished groups collapse, running and failed rows stay."""

from __future__ import annotations

from datetime import datetime

from flowrun.model.execution import FAILED_LIKE, TERMINAL, TaskRun, utcnow
from flowrun.plain import Plain

ACTIVE_SHOWN = ("RUNNING", "RETRYING", "CREATED", "QUEUED", "PAUSED", "KILLING")


class LiveRow(Plain):
    """One line of the live table: a task run (`note` summarises a collapsed group) or `...` (no task run)."""

    FIELDS = ("depth", "taskrun", "note")

    def __init__(self, depth: int, taskrun: TaskRun | None, note: str = "") -> None:
        self.depth = depth
        self.taskrun = taskrun
        self.note = note


class Counts(Plain):
    """The header's figures over every task run seen so far."""

    FIELDS = ("total", "done", "running", "failed")

    def __init__(self, total: int, done: int, running: int, failed: int) -> None:
        self.total = total
        self.done = done
        self.running = running
        self.failed = failed


def state_name(state: object) -> str:
    """A state's name, whether it is a `State` or the plain text of one."""
    return str(getattr(state, "value", state))


def is_failed(taskrun: TaskRun) -> bool:
    return taskrun.state in FAILED_LIKE


def is_done(taskrun: TaskRun) -> bool:
    """Ended without failing (SUCCESS, WARNING, SKIPPED...)."""
    return taskrun.state in TERMINAL and not is_failed(taskrun)


def count_runs(runs: list[TaskRun]) -> Counts:
    running = sum(1 for tr in runs if state_name(tr.state) in ("RUNNING", "RETRYING", "KILLING"))
    return Counts(len(runs), sum(1 for tr in runs if is_done(tr)), running, sum(1 for tr in runs if is_failed(tr)))


def short_type(taskrun: TaskRun) -> str:
    return taskrun.task_type.rsplit(".", 1)[-1]


def group_note(children: list[TaskRun]) -> str:
    """`57/60 done, 1 failed` for a flowable's direct children."""
    failed = sum(1 for tr in children if is_failed(tr))
    note = f"{sum(1 for tr in children if is_done(tr))}/{len(children)} done"
    return note + (f", {failed} failed" if failed else "")


def live_rows(runs: list[TaskRun], budget: int) -> list[LiveRow]:
    """Every task run, nested, when they fit in `budget` lines; else finished children fold into their parent's
    line (`57/60 done, 1 failed`), and if that is still too tall the rows that are neither running nor failed
    give way to one `... N more` line."""
    children: dict[str | None, list[TaskRun]] = {}
    known = {tr.id for tr in runs}
    for taskrun in runs:
        children.setdefault(taskrun.parent_id if taskrun.parent_id in known else None, []).append(taskrun)
    full = _walk(children, None, 0, collapse=False)
    if len(full) <= budget:
        return full
    folded = _walk(children, None, 0, collapse=True)
    return folded if len(folded) <= budget else _keep_urgent(folded, max(budget, 2))


def _walk(children: dict[str | None, list[TaskRun]], parent: str | None, depth: int, collapse: bool,
          ) -> list[LiveRow]:
    rows: list[LiveRow] = []
    for taskrun in children.get(parent, []):
        kids = children.get(taskrun.id, [])
        if not kids:
            rows.append(LiveRow(depth, taskrun))
            continue
        rows.append(LiveRow(depth, taskrun, group_note(kids) if collapse or len(kids) > 1 else ""))
        if collapse:  # only the children still running or failed, or holding such
            pending = [tr for tr in kids if not is_done(tr) or _has_pending(children, tr)]
            rows += _walk({**children, taskrun.id: pending}, taskrun.id, depth + 1, collapse)
        else:
            rows += _walk(children, taskrun.id, depth + 1, collapse)
    return rows


def _has_pending(children: dict[str | None, list[TaskRun]], taskrun: TaskRun) -> bool:
    """Whether anything below `taskrun` is still running or failed."""
    return any(not is_done(kid) or _has_pending(children, kid) for kid in children.get(taskrun.id, []))


def _keep_urgent(rows: list[LiveRow], budget: int) -> list[LiveRow]:
    """The running and failed rows (and the groups holding them) first, in their order, then the rest while
    lines remain; the cut ones counted on a last `... N more` line."""
    urgent = [i for i, row in enumerate(rows) if row.taskrun is not None and not is_done(row.taskrun)]
    keep = set(urgent[: budget - 1])
    for index in sorted(keep):
        depth = rows[index].depth
        for j in range(index - 1, -1, -1):  # the enclosing group rows
            if rows[j].depth < depth and len(keep) < budget - 1:
                keep.add(j)
                depth = rows[j].depth
    for index in range(len(rows)):
        if len(keep) >= budget - 1:
            break
        keep.add(index)
    cut = len(rows) - len(keep)
    return [rows[i] for i in sorted(keep)] + [LiveRow(0, None, f"... {cut} more")]


def elapsed_seconds(start: datetime, end: datetime | None) -> float:
    return ((end or utcnow()) - start).total_seconds()
