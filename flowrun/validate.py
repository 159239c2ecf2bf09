"""Raw flow document -> validated `Flow`, reporting every problem at once with its location."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from flowrun.defaults import apply_defaults, apply_nested
from flowrun.errors import InvalidFlowError, Problem
from flowrun.model.document import Document, Path_
from flowrun.model.flow import TASK_ID, Flow, FlowDoc, PluginDefault
from flowrun.model.flow_templates import check_templates
from flowrun.model.problems import pydantic_problems
from flowrun.tasks.base import Task
from flowrun.tasks.registry import UnknownType, describe_unknown, task_class

TASK_GROUPS = (("tasks", "tasks"), ("errors", "errors"), ("finally", "finally_"),
               ("afterExecution", "after_execution"))


def field_names(model: type[Any]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
    return names


class _Validator:
    def __init__(self, doc: Document, defaults: Sequence[PluginDefault]) -> None:
        self.doc = doc
        self.defaults = list(defaults)
        self.problems: list[Problem] = []
        self.task_paths: dict[str, Path_] = {}

    def build_task(self, raw: Any, path: Path_) -> Task | None:
        if not isinstance(raw, dict):
            self.problems.append(self.doc.problem(path, "a task must be a mapping with `id` and `type`"))
            return None
        task_id, type_name = raw.get("id"), raw.get("type")
        where = f"task `{task_id}`" if isinstance(task_id, str) else None
        if not isinstance(task_id, str) or not isinstance(type_name, str):
            missing = "id" if not isinstance(task_id, str) else "type"
            self.problems.append(self.doc.problem(path, f"missing required property `{missing}`", where))
            return None
        self._check_id(task_id, path, where)
        try:
            cls = task_class(type_name)
        except UnknownType:
            self.problems.append(self.doc.problem((*path, "type"), describe_unknown(type_name, task_id)))
            return None
        merged, added = apply_defaults(raw, self.defaults)
        allowed = field_names(cls)
        merged = {k: (v if k in cls.child_fields else apply_nested(v, self.defaults))
                  for k, v in merged.items() if k not in added or k in allowed}
        before = len(self.problems)
        merged = cls.prepare_children(merged, lambda item, sub: self.build_task(item, (*path, *sub)))
        if len(self.problems) > before:
            return None
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            self.problems.extend(pydantic_problems(self.doc, exc, path, where, cls))
            return None

    def _check_id(self, task_id: str, path: Path_, where: str | None) -> None:
        if not TASK_ID.match(task_id):
            self.problems.append(self.doc.problem((*path, "id"), f"task id must match {TASK_ID.pattern}", where))
        if task_id in self.task_paths:
            first = self.doc.locate(self.task_paths[task_id])[0]
            self.problems.append(self.doc.problem(
                (*path, "id"), f"duplicate task id `{task_id}` (first defined at line {first}); "
                "task ids must be unique across the whole flow, nested tasks included"))
        else:
            self.task_paths[task_id] = path

    def build_group(self, raw: Any, key: str) -> list[Task]:
        if raw is None:
            return []
        tasks = [self.build_task(item, (key, i)) for i, item in enumerate(raw)]
        return [t for t in tasks if t is not None]

    def build_inputs(self, raw: list[Any] | None) -> list[Any]:
        from flowrun.model.inputs import parse_input_spec

        specs, seen = [], set()
        for i, item in enumerate(raw or []):
            input_id = item.get("id") or item.get("name") if isinstance(item, dict) else None
            where = f"input `{input_id}`" if input_id else None
            try:
                spec = parse_input_spec(item)
            except ValidationError as exc:
                self.problems.extend(pydantic_problems(self.doc, exc, ("inputs", i), where, BaseModel))
                continue
            except (ValueError, TypeError) as exc:
                self.problems.append(self.doc.problem(("inputs", i), str(exc), where))
                continue
            if spec.id in seen:
                self.problems.append(self.doc.problem(("inputs", i), f"duplicate input id `{spec.id}`"))
            seen.add(spec.id)
            specs.append(spec)
        return specs

    def build_triggers(self, raw: list[Any] | None) -> list[Any]:
        from flowrun.model.triggers import TRIGGERS

        triggers, seen = [], set()
        for i, item in enumerate(raw or []):
            path = ("triggers", i)
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                self.problems.append(self.doc.problem(path, "a trigger needs `id` and `type`"))
                continue
            where = f"trigger `{item.get('id')}`"
            cls = TRIGGERS.get(item["type"])
            if cls is None:
                self.problems.append(self.doc.problem(
                    (*path, "type"), f"trigger type {item['type']} is not supported by flowrun", where))
                continue
            merged, added = apply_defaults(item, self.defaults)
            merged = {k: v for k, v in merged.items() if k not in added or k in field_names(cls)}
            try:
                trigger = cls.model_validate(merged)
            except ValidationError as exc:
                self.problems.extend(pydantic_problems(self.doc, exc, path, where, cls))
                continue
            if trigger.id in seen:
                self.problems.append(self.doc.problem(path, f"duplicate trigger id `{trigger.id}`"))
            seen.add(trigger.id)
            triggers.append(trigger)
        return triggers


def validate_document(doc: Document, global_defaults: Sequence[PluginDefault] = ()) -> Flow:
    """Validate a parsed flow file. Raises InvalidFlowError listing every problem."""
    data = doc.data
    if not isinstance(data, dict):
        raise InvalidFlowError([doc.problem((), "a flow file must be a YAML mapping with id, namespace and tasks")])
    problems: list[Problem] = []
    flow_doc: FlowDoc | None = None
    try:
        flow_doc = FlowDoc.model_validate(data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(doc, exc, (), None, FlowDoc))
    defaults = _flow_defaults(doc, data, problems) + list(global_defaults)
    validator = _Validator(doc, defaults)
    groups = {attr: validator.build_group(data.get(key) if isinstance(data.get(key), list) else None, key)
              for key, attr in TASK_GROUPS}
    inputs = validator.build_inputs(data.get("inputs") if isinstance(data.get("inputs"), list) else None)
    triggers = validator.build_triggers(data.get("triggers") if isinstance(data.get("triggers"), list) else None)
    problems.extend(validator.problems)
    problems.extend(_check_flow_rules(doc, flow_doc))
    found = check_templates(doc)
    problems.extend(p for p in found if p.is_error)
    if problems or flow_doc is None:
        problems += [p for p in found if not p.is_error]
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise InvalidFlowError(problems)
    flow = Flow(flow_doc, groups["tasks"], groups["errors"], groups["finally_"], groups["after_execution"],
                inputs, triggers, doc.text, doc.file)
    flow.warnings = [p for p in found if not p.is_error]
    flow.task_paths = dict(validator.task_paths)
    flow.document = doc
    return flow


def build_task_group(doc: Document, raw: list[Any], key: str,
                     defaults: Sequence[PluginDefault] = ()) -> list[Task]:
    """Validate raw task maps of `doc` found at `key` (a template's `tasks`, a TemplatedTask's rendered spec)
    into tasks; raises InvalidFlowError listing every problem, each located in `doc`."""
    validator = _Validator(doc, list(defaults))
    tasks = validator.build_group(raw, key)
    if validator.problems:
        raise InvalidFlowError(validator.problems)
    return tasks


def _flow_defaults(doc: Document, data: dict[str, Any], problems: list[Problem]) -> list[PluginDefault]:
    """The flow's own pluginDefaults (or legacy taskDefaults); shape errors are reported by FlowDoc."""
    raw = data.get("pluginDefaults") or data.get("taskDefaults") or []
    result = []
    for item in raw if isinstance(raw, list) else []:
        try:
            result.append(PluginDefault.model_validate(item))
        except ValidationError:
            continue
    return result


def _check_flow_rules(doc: Document, flow_doc: FlowDoc | None) -> list[Problem]:
    problems: list[Problem] = []
    if flow_doc is None:
        return problems
    labels = flow_doc.labels
    keys = list(labels) if isinstance(labels, dict) else [lbl.key for lbl in labels or []]
    for key in keys:
        if key.startswith("system.") and key != "system.readOnly":
            problems.append(doc.problem(("labels",), f"label `{key}`: keys starting with `system.` are reserved"))
    seen: set[str] = set()
    for i, output in enumerate(flow_doc.outputs or []):
        if output.id in seen:
            problems.append(doc.problem(("outputs", i), f"duplicate output id `{output.id}`"))
        seen.add(output.id)
    return problems


def flow_position(flow: Flow, task_id: str) -> tuple[int | None, int | None]:
    """The line and column of a task's definition in the flow file (None when unknown)."""
    path = flow.task_paths.get(task_id)
    if path is None or flow.document is None:
        return None, None
    return flow.document.locate(path)
