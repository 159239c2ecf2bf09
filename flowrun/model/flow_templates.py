"""Check every templated property of a flow against the flow: syntax, names, inputs, task ids, variables, triggers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowrun.errors import Problem
from flowrun.model.document import Document, Path_
from flowrun.model.scalar_spans import ScalarSpans
from flowrun.templating.check import Analysis, Ref, analyze, did_you_mean

TASK_GROUPS = ("tasks", "errors", "finally", "afterExecution")
#: keys Kestra never renders
_STATIC_KEYS = {"id", "type", "description", "displayName"}
_SUBFLOW_TYPES = ("flow.Subflow", "flows.Subflow", "flows.Flow", "flow.Flow")
#: between two parts of a variable chain: `.` or `['`, possibly after `']`
_SEPARATOR = r"""\s*(?:['"]\s*\]\s*)?(?:\.|\[\s*['"]?)\s*"""
#: the `trigger` variables a Subflow task sets on the child execution
SUBFLOW_TRIGGER_VARS = ("executionId", "namespace", "flowId", "flowRevision")


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def format_path(path: Path_) -> str:
    """`("tasks", 2, "message")` -> `tasks[2].message`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def templated_strings(data: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    """Every rendered string of a flow document with its path, in document order."""
    for key in TASK_GROUPS:
        yield from _walk(data.get(key), (key,))
    yield from _walk(data.get("variables"), ("variables",))
    for i, output in enumerate(_items(data.get("outputs"))):
        yield from _walk(output.get("value"), ("outputs", i, "value"))
    for key in ("inputs", "triggers"):
        for i, item in enumerate(_items(data.get(key))):
            yield from _walk({k: v for k, v in item.items() if k != "cron"}, (key, i))
    for key in ("pluginDefaults", "taskDefaults"):
        for i, item in enumerate(_items(data.get(key))):
            yield from _walk(item.get("values"), (key, i, "values"))


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _walk(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    if is_template(value):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))
    elif isinstance(value, dict):
        skip = set(_STATIC_KEYS) if "id" in value and "type" in value else set()
        if str(value.get("type", "")).endswith(_SUBFLOW_TYPES):
            skip.add("outputs")  # rendered against the child execution's own tasks
        for key, item in value.items():
            if key not in skip:
                yield from _walk(item, (*path, key))


#: flowables that run task runs of their own, named after them (ForEachItem: `<id>_split`, `<id>_items`...)
_SYNTHETIC_IDS = {"flow.ForEachItem": ("_split", "_items", "_merge"), "flows.ForEachItem": ("_split", "_items", "_merge")}


def _task_maps(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every task mapping of the flow (an `id` and a `type`), at any depth."""
    todo: list[Any] = [data.get(key) for key in TASK_GROUPS]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
                yield node
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)


def task_ids(data: dict[str, Any]) -> set[str]:
    """The id of every task at any depth (a mapping with an `id` and a `type`), and the task runs some
    flowables add (ForEachItem's `<id>_split`, `<id>_items`, `<id>_merge`)."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
                found.add(node["id"])
                kind = node["type"].rsplit(".", 2)
                found.update(node["id"] + suffix for suffix in _SYNTHETIC_IDS.get(".".join(kind[-2:]), ()))
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    for key in TASK_GROUPS:
        visit(data.get(key))
    return found


@dataclass
class FlowNames:
    """The names a template of this flow may read."""

    inputs: set[str]
    tasks: set[str]
    variables: set[str]
    has_trigger: bool
    #: the flow includes a (deprecated) Template task, whose tasks come from `templates/` when it runs
    has_template: bool = False

    @classmethod
    def of(cls, data: dict[str, Any]) -> FlowNames:
        inputs = {str(item.get("id") or item.get("name")) for item in _items(data.get("inputs"))}
        variables = data.get("variables")
        templated = any(str(node.get("type", "")).endswith((".flow.Template", ".flows.Template"))
                        for node in _task_maps(data))
        names = set(variables) if isinstance(variables, dict) else set()
        for node in _task_maps(data):  # a SetVariables task adds the names it sets
            if str(node.get("type", "")).endswith(".SetVariables") and isinstance(node.get("variables"), dict):
                names.update(str(key) for key in node["variables"])
        return cls(inputs, task_ids(data), names, bool(_items(data.get("triggers"))), templated)


class TemplateChecker:
    """Collects the template problems of one flow document (errors and warnings)."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.spans = ScalarSpans(doc.text)
        self.names = FlowNames.of(doc.data)
        self.problems: list[Problem] = []

    def check(self) -> list[Problem]:
        analyses = [(path, analyze(source)) for path, source in templated_strings(self.doc.data)]
        used = _used_variables([found for _, found in analyses], self.names.variables)
        for path, found in analyses:
            unused = path[0] == "variables" and len(path) > 1 and path[1] not in used
            self.check_one(path, found, "warning" if unused else "error")
        return self.problems

    def check_one(self, path: Path_, found: Analysis, ref_severity: str = "error") -> None:
        """The problems of one template; `ref_severity` is "warning" in a variable no template reads."""
        if found.syntax is not None:
            self.add(path, found.syntax.message, found.syntax.line, found.syntax.column)
            return
        for finding in found.unknown:
            self.add(path, finding.message, finding.line, finding.column)
        for root, known, what in (("inputs", self.names.inputs, "input"), ("outputs", self.names.tasks, "task"),
                                  ("vars", self.names.variables, "variable")):
            for ref in found.reads(root):
                if ref.chain and not _declared(ref.chain[0], known):
                    message, severity = _undeclared(ref, what, known), ref_severity
                    if ref_severity != "error":
                        message += f"; variable '{path[1]}' is not used, so this only fails if a template reads it"
                    elif what == "task" and self.names.has_template:
                        message, severity = message + " (unless a Template task includes it)", "warning"
                    self.add_ref(path, found, ref, message, severity)
        if not self.names.has_trigger:
            for ref in found.reads("trigger"):
                message = (f"reads `{ref.text}` but the flow has no trigger: a manual run has no `trigger` "
                           "(only a trigger or a Subflow task sets it)")
                self.add_ref(path, found, ref, message, severity="warning")

    def add_ref(self, path: Path_, found: Analysis, ref: Ref, message: str, severity: str = "error") -> None:
        pattern = _SEPARATOR.join(re.escape(part) for part in (ref.root, *ref.chain))
        where = found.locate(ref.line, pattern)
        self.add(path, message, where.line, where.column, severity)

    def add(self, path: Path_, message: str, line: int, column: int, severity: str = "error") -> None:
        position = self.spans.position(path, line, column)
        file_line, file_col = position if position else self.doc.locate(path)
        self.problems.append(Problem(message, file=self.doc.file, line=file_line, column=file_col,
                                     where=format_path(path), severity=severity))


def _declared(name: str, known: set[str]) -> bool:
    return name in known or any(k.startswith(name + ".") for k in known)


def _used_variables(analyses: list[Analysis], variables: set[str]) -> set[str]:
    """The variables some template reads (`vars.X`); all of them when one reads `vars` as a whole."""
    used: set[str] = set()
    for found in analyses:
        for ref in found.refs:
            if ref.root == "vars":
                if not ref.chain:
                    return set(variables)
                used.add(ref.chain[0])
    return used


def _undeclared(ref: Ref, what: str, known: set[str]) -> str:
    name = ref.chain[0]
    suggestion = did_you_mean(name, known)
    if what == "task":
        message = f"`{ref.text}` reads the outputs of task '{name}', which is no task of this flow"
    elif what == "input":
        message = f"`{ref.text}` reads input '{name}', which the flow does not declare"
    else:
        message = f"`{ref.text}` reads variable '{name}', which is not in the flow's `variables`"
    if suggestion:
        return message + suggestion
    plural = {"task": "tasks", "input": "inputs", "variable": "variables"}[what]
    listed = ", ".join(sorted(known)[:20])
    return f"{message} (its {plural}: {listed})" if known else f"{message} (the flow has no {plural})"


def check_templates(doc: Document) -> list[Problem]:
    """The template problems of a parsed flow document (never raises)."""
    if not isinstance(doc.data, dict):
        return []
    return TemplateChecker(doc).check()


def trigger_reads(doc: Document) -> list[str]:
    """The unguarded `trigger.*` chains the flow's templates read (for Subflow targets and manual runs)."""
    reads: list[str] = []
    for _path, source in templated_strings(doc.data if isinstance(doc.data, dict) else {}):
        for ref in analyze(source).reads("trigger"):
            if ref.text not in reads:
                reads.append(ref.text)
    return reads
