"""The run records: Execution, TaskRun and Attempt, the Kestra states and how a final state is derived."""

from __future__ import annotations

import os
import string
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flowrun.plain import Plain


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


class Attempt(Plain):
    FIELDS = ("state", "start_date", "end_date", "worker", "lost")

    def __init__(self, state: State, start_date: datetime, end_date: datetime | None = None,
                 worker: str | None = None, lost: bool = False) -> None:
        self.state = State(state)  # a record read back from the state DB holds the plain text
        self.start_date = start_date
        self.end_date = end_date
        #: the Celery worker that ran it (scale-out), None when it ran in the process of the execution
        self.worker = worker
        #: its worker stopped beating while it ran (killed, crashed, cut off): the attempt was resubmitted
        self.lost = lost

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state, "startDate": iso(self.start_date), "endDate": iso(self.end_date)}
        if self.worker:
            data["worker"] = self.worker
        if self.lost:
            data["lost"] = True
        return data


class TaskRun(Plain):
    FIELDS = ("id", "execution_id", "task_id", "task_type", "seq", "parent_id", "value", "iteration", "state",
              "start_date", "end_date", "outputs", "attempts", "error", "value_path", "histories", "worker")

    def __init__(self, id: str, execution_id: str, task_id: str, task_type: str, seq: int,
                 parent_id: str | None = None, value: str | None = None, iteration: int | None = None,
                 state: State = State.CREATED, start_date: datetime | None = None,
                 end_date: datetime | None = None, outputs: dict[str, Any] | None = None,
                 attempts: list[Attempt] | None = None, error: str | None = None, value_path: tuple[str, ...] = (),
                 histories: list[dict[str, Any]] | None = None, worker: str | None = None) -> None:
        self.id = id
        self.execution_id = execution_id
        self.task_id = task_id
        self.task_type = task_type
        self.seq = seq
        self.parent_id = parent_id
        self.value = value
        self.iteration = iteration
        self.state = State(state)  # a record read back from the state DB holds the plain text
        self.start_date = utcnow() if start_date is None else start_date
        self.end_date = end_date
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        self.attempts: list[Attempt] = [] if attempts is None else attempts
        self.error = error
        #: values of the looping ancestors, outermost first (for outputs[task][v1][v2])
        self.value_path = value_path
        #: every state the task run went through, with its date (Kestra's `state.histories`)
        self.histories: list[dict[str, Any]] = [] if histories is None else histories
        #: the worker that ran its latest attempt (scale-out on Celery); None when it ran in this process
        self.worker = worker

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


class Execution(Plain):
    FIELDS = ("id", "namespace", "flow_id", "state", "start_date", "end_date", "inputs", "labels", "outputs",
              "trigger", "task_runs", "histories", "parent_id", "original_id", "error", "secret_inputs", "flow_path",
              "flow_source", "flow_revision", "variables")

    def __init__(self, id: str, namespace: str, flow_id: str, state: State = State.CREATED,
                 start_date: datetime | None = None, end_date: datetime | None = None,
                 inputs: dict[str, Any] | None = None, labels: list[tuple[str, str]] | None = None,
                 outputs: dict[str, Any] | None = None, trigger: dict[str, Any] | None = None,
                 task_runs: list[TaskRun] | None = None, histories: list[dict[str, Any]] | None = None,
                 parent_id: str | None = None, original_id: str | None = None, error: str | None = None,
                 secret_inputs: set[str] | None = None, flow_path: str | None = None, flow_source: str | None = None,
                 flow_revision: int | None = None, variables: dict[str, Any] | None = None) -> None:
        self.id = id
        self.namespace = namespace
        self.flow_id = flow_id
        self.state = State(state)  # a record read back from the state DB holds the plain text
        self.start_date = utcnow() if start_date is None else start_date
        self.end_date = end_date
        self.inputs: dict[str, Any] = {} if inputs is None else inputs
        self.labels: list[tuple[str, str]] = [] if labels is None else labels
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        self.trigger = trigger
        self.task_runs: list[TaskRun] = [] if task_runs is None else task_runs
        self.histories: list[dict[str, Any]] = [] if histories is None else histories
        self.parent_id = parent_id
        self.original_id = original_id
        self.error = error
        self.secret_inputs: set[str] = set() if secret_inputs is None else secret_inputs
        self.flow_path = flow_path
        self.flow_source = flow_source
        self.flow_revision = flow_revision
        #: `vars` as SetVariables and UnsetVariables left them (None: the flow's `variables`, unchanged). Recorded
        #: with the execution, as Kestra records an execution's variables: a worker rendering a later task, a
        #: resume and a restart see them
        self.variables = variables

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
