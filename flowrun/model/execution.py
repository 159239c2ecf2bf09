"""The run records: Execution, TaskRun and Attempt, the Kestra states and how a final state is derived."""

from __future__ import annotations

import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """Kestra's state names; each value is the text the state DB and the JSON documents hold."""

    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RETRYING = "RETRYING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLING = "KILLING"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    RESTARTED = "RESTARTED"
    RETRIED = "RETRIED"


STATES = tuple(state.value for state in State)
TERMINAL = frozenset({State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED, State.SKIPPED,
                      State.RETRIED})
FAILED_LIKE = frozenset({State.FAILED, State.KILLED, State.CANCELLED})

_ALPHABET = string.digits + string.ascii_letters


def new_id() -> str:
    """A Kestra-style friendly id: a random UUID in base62 (22 chars)."""
    number = int.from_bytes(os.urandom(16), "big")
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars)).rjust(22, "0")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def final_state(states: Iterable[str]) -> State:
    """Kestra's guessFinalState over sibling task runs: KILLED > FAILED > WARNING > PAUSED > SUCCESS."""
    present = set(states)
    for state in (State.KILLED, State.FAILED, State.WARNING, State.PAUSED):
        if state in present:
            return state
    if State.CANCELLED in present:
        return State.KILLED
    return State.SUCCESS


@dataclass
class Attempt:
    state: State
    start_date: datetime
    end_date: datetime | None = None
    #: the Celery worker that ran it (scale-out), None when it ran in the process of the execution
    worker: str | None = None
    #: its worker stopped beating while it ran (killed, crashed, cut off): the attempt was resubmitted
    lost: bool = False

    def __post_init__(self) -> None:
        self.state = State(self.state)  # a record read back from the state DB holds the plain text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state, "startDate": iso(self.start_date), "endDate": iso(self.end_date)}
        if self.worker:
            data["worker"] = self.worker
        if self.lost:
            data["lost"] = True
        return data


@dataclass
class TaskRun:
    id: str
    execution_id: str
    task_id: str
    task_type: str
    seq: int
    parent_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    state: State = State.CREATED
    start_date: datetime = field(default_factory=utcnow)
    end_date: datetime | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    #: values of the looping ancestors, outermost first (for outputs[task][v1][v2])
    value_path: tuple[str, ...] = ()
    #: every state the task run went through, with its date (Kestra's `state.histories`)
    histories: list[dict[str, Any]] = field(default_factory=list)
    #: the worker that ran its latest attempt (scale-out on Celery); None when it ran in this process
    worker: str | None = None

    def __post_init__(self) -> None:
        self.state = State(self.state)  # a record read back from the state DB holds the plain text

    def set_state(self, state: str) -> None:
        """The task run's new state; a change is appended to its histories."""
        self.state = State(state)
        if not self.histories or self.histories[-1]["state"] != self.state.value:
            self.histories.append({"state": self.state.value, "date": iso(utcnow())})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "taskId": self.task_id, "parentTaskRunId": self.parent_id, "value": self.value,
            "state": self.state, "startDate": iso(self.start_date), "endDate": iso(self.end_date),
            "attempts": [a.to_json() for a in self.attempts], "outputs": self.outputs, "histories": self.histories,
        }


@dataclass
class Execution:
    id: str
    namespace: str
    flow_id: str
    state: State = State.CREATED
    start_date: datetime = field(default_factory=utcnow)
    end_date: datetime | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    task_runs: list[TaskRun] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)
    parent_id: str | None = None
    original_id: str | None = None
    error: str | None = None
    secret_inputs: set[str] = field(default_factory=set)
    flow_path: str | None = None
    flow_source: str | None = None
    flow_revision: int | None = None
    #: `vars` as SetVariables and UnsetVariables left them (None: the flow's `variables`, unchanged). Recorded
    #: with the execution, as Kestra records an execution's variables: a worker rendering a later task, a resume
    #: and a restart see them
    variables: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.state = State(self.state)  # a record read back from the state DB holds the plain text

    def set_state(self, state: str) -> None:
        self.state = State(state)
        self.histories.append({"state": self.state.value, "date": iso(utcnow())})

    def labels_map(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, value in self.labels:
            result.setdefault(key, value)
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "flowId": self.flow_id, "state": self.state,
            "startDate": iso(self.start_date), "endDate": iso(self.end_date), "inputs": self.inputs,
            "labels": [{"key": k, "value": v} for k, v in self.labels], "outputs": self.outputs,
            "taskRuns": [tr.to_json() for tr in self.task_runs], "flowRevision": self.flow_revision,
        }
