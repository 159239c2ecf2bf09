"""The flow document: every top-level key of Kestra's dialect, validated."""

from __future__ import annotations

import re
from typing import Any, Literal

from flowrun.model.base import PluginDefault, RetrySpec, Strict
from flowrun.model.lite import Field, field_validator
from flowrun.tasks.base import Task

FLOW_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TASK_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")


class Concurrency(Strict):
    limit: int = Field(gt=0)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class FlowOutput(Strict):
    id: str
    type: str = "STRING"
    value: Any = None
    description: str | None = None
    display_name: str | None = None
    required: bool = True


class Label(Strict):
    key: str
    value: Any


class FlowDoc(Strict):
    """Top-level keys. Tasks, inputs and triggers stay raw here; `validate` builds them with locations."""

    id: str
    namespace: str
    description: str | None = None
    labels: dict[str, Any] | list[Label] | None = None
    inputs: list[dict[str, Any]] | None = None
    variables: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = Field(min_length=1)
    errors: list[dict[str, Any]] | None = None
    finally_: list[dict[str, Any]] | None = Field(default=None, alias="finally")
    after_execution: list[dict[str, Any]] | None = None
    outputs: list[FlowOutput] | None = None
    plugin_defaults: list[PluginDefault] | None = None
    task_defaults: list[PluginDefault] | None = None
    concurrency: Concurrency | None = None
    triggers: list[dict[str, Any]] | None = None
    disabled: bool = False
    retry: RetrySpec | None = None
    sla: list[Any] | None = None
    listeners: list[Any] | None = None
    revision: int | None = None
    deleted: bool | None = None
    tenant_id: str | None = None
    worker_group: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not FLOW_ID.match(value) or len(value) > 100:
            raise ValueError(f"flow id `{value}` must match {FLOW_ID.pattern} (1-100 chars)")
        # no id is reserved: Kestra 1.x's FlowValidator rejects none (its own test flow valids/pause.yaml is `pause`)
        return value

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not NAMESPACE.match(value) or len(value) > 150:
            raise ValueError(f"namespace `{value}` must be lowercase and match {NAMESPACE.pattern}")
        return value


class Flow:
    """A validated flow, ready to plan and run."""

    def __init__(self, doc: FlowDoc, tasks: list[Task], errors: list[Task], finally_: list[Task],
                 after_execution: list[Task], inputs: list[Any], triggers: list[Any],
                 source: str, path: str | None) -> None:
        self.doc = doc
        self.id = doc.id
        self.namespace = doc.namespace
        self.tasks = tasks
        self.errors = errors
        self.finally_ = finally_
        self.after_execution = after_execution
        self.inputs = inputs
        self.triggers = triggers
        self.source = source
        self.path = path
        #: filled by validate: warnings that do not make the flow invalid, where each task and the YAML are
        self.warnings: list[Any] = []
        self.task_paths: dict[str, tuple[str | int, ...]] = {}
        self.document: Any = None

    @property
    def variables(self) -> dict[str, Any]:
        return self.doc.variables or {}

    @property
    def labels(self) -> list[tuple[str, str]]:
        raw = self.doc.labels
        if raw is None:
            return []
        if isinstance(raw, dict):
            return [(str(k), _label_text(v)) for k, v in raw.items()]
        return [(item.key, _label_text(item.value)) for item in raw]

    def all_tasks(self) -> list[Task]:
        """Every task of the flow, nested ones included, in document order."""
        found: list[Task] = []
        for group in (self.tasks, self.errors, self.finally_, self.after_execution):
            for task in group:
                walk_tasks(task, found)
        return found


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def child_groups(task: Task) -> list[tuple[str, list[Task]]]:
    """The named child lists of a (flowable) task: `then`, `tasks`, `errors`..."""
    groups: list[tuple[str, list[Task]]] = []
    children = getattr(task, "children", None)
    if callable(children):  # Dag: tasks wrapped with their dependsOn
        groups.append(("tasks", children()))
    for name in getattr(task, "child_fields", ()):
        value = getattr(task, name, None)
        if isinstance(value, dict):  # Switch cases
            for key, tasks in value.items():
                groups.append((f"{name}.{key}", tasks))
        elif value:
            groups.append((name, value))
    return groups


def walk_tasks(task: Task, found: list[Task]) -> None:
    found.append(task)
    for _name, group in child_groups(task):
        for child in group:
            walk_tasks(child, found)
