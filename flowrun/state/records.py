"""The values a state store takes and hands back, the same for every backend (no SQL, no driver types).

The stores make these where they are used (schedule claims, purges, listings, task states), so that a run, which
needs none of them, skips creating their classes; what a run writes is `flowrun.state.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: a schedule trigger: (namespace, flow id, trigger id)
Key = tuple[str, str, str]
#: one stored row as a plain mapping of column name to value (every backend returns these, not driver rows)
Row = dict[str, Any]


@dataclass
class Claim:
    """One (flow, trigger, date) taken by this process to run it exactly once."""

    id: int
    key: Key
    date: str
    source: str
    flow_path: str | None
    execution_id: str | None = None
    previous_execution_id: str | None = None
    backfill_id: str | None = None

    @classmethod
    def of(cls, row: Any) -> Claim:
        return cls(row["id"], (row["namespace"], row["flow_id"], row["trigger_id"]), row["date"], row["source"],
                   row["flow_path"], row["execution_id"], row["previous_execution_id"], row["backfill_id"])


@dataclass
class DateStatus:
    """What the state DB knows of one schedule date: its latest execution and whether someone runs it."""

    execution_id: str | None
    state: str | None  # the latest execution's state; CREATED while a live process holds the claim
    backfill_id: str | None = None


@dataclass(frozen=True)
class FlowCount:
    """How many executions of one flow a count matched (Kestra's `executionCounts`)."""

    namespace: str
    flow_id: str
    count: int


@dataclass(frozen=True)
class Due:
    """A pause to resume now: the state it resumes to, and the `onResume` inputs asked for (sealed), if any."""

    state: str
    inputs: Any = None


@dataclass(frozen=True)
class Revision:
    """One stored source of a flow id, under its revision number."""

    namespace: str
    flow_id: str
    number: int
    source_hash: str
    source: str
    created_at: str


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions to purge. Dates are fixed-width UTC stamps (`flowrun.state.cutoff.utc_stamp`).

    `ended_before`: the execution ended at or before it (executions that never started count by their
    creation). `started_after`: it started at or after it. `namespace` takes its child namespaces too unless
    `flow_id` is set (Kestra's rule). `keep_last`: the N most recent executions of each flow, whatever their
    state or date, are never purged.
    """

    ended_before: str | None = None
    started_after: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    states: tuple[str, ...] = ()
    keep_last: int = 0


@dataclass(frozen=True)
class ExecutionQuery:
    """Which executions a page lists (the web UI's filters). `namespace` takes its child namespaces too;
    `labels` are (key, value) pairs that must all be present; `started_from`/`started_to` are ISO-8601 UTC
    stamps compared with the start date (an execution that never started counts by its creation)."""

    namespace: str | None = None
    flow_id: str | None = None
    states: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    started_from: str | None = None
    started_to: str | None = None


@dataclass
class Selection:
    """What a filter matched: the finished executions that may go, and the unfinished ones that stay."""

    purgeable: list[dict[str, Any]] = field(default_factory=list)
    unfinished: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Deleted:
    """What `delete_executions` removed."""

    ids: list[str] = field(default_factory=list)
    executions: int = 0
    task_outputs: int = 0
    logs: int = 0
    metrics: int = 0


@dataclass(frozen=True)
class LogFilter:
    """Which log lines to purge (Kestra's PurgeLogs). Dates are UTC stamps; `end` is required.

    `namespace` and `flow_id` match through the log's execution: lines whose execution row was purged
    already match only when neither is set.
    """

    end: str
    start: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateScope:
    """Which document of the `state.*` tasks: `flow_id` is "" for a state shared by the namespace, `value`
    None when not isolated by `taskrun.value`."""

    namespace: str
    flow_id: str
    name: str
    value: str | None = None

    def key(self, flow_slug: str) -> str:
        """Kestra's key for this state (`<flow>_states_tasks-states_<name>[_<value>]`), shown as the `key` output."""
        prefix = f"{flow_slug}_" if self.flow_id else ""
        suffix = f"_{self.value}" if self.value is not None else ""
        return f"{prefix}states_tasks-states_{self.name}{suffix}"


@dataclass(frozen=True)
class StoredState:
    """A `state.*` document as stored: JSON text (encrypted when `secret`)."""

    data: str
    secret: bool = False
