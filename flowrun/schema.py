"""The JSON Schema of the flow document, built from the pydantic models of flows, tasks, inputs and triggers."""

from __future__ import annotations

import re
from typing import Any

SCHEMA_ID = "https://flowrun.dev/schemas/flow.schema.json"

#: descriptions of the properties every task (and trigger) shares, as in Kestra's docs
COMMON = {
    "id": "A unique identifier within the flow.", "type": "The plugin type, e.g. io.kestra.plugin.core.log.Log.",
    "description": "Free text documenting it.", "disabled": "When true it is skipped.",
    "runIf": "An expression: the task runs only when it renders to true.",
    "allowFailure": "A failure of this task does not fail the execution (it ends WARNING).",
    "allowWarning": "A WARNING of this task counts as SUCCESS.", "timeout": "ISO-8601 duration, e.g. PT10M.",
    "retry": "How failed attempts are retried.", "logLevel": "The minimum level of the logs kept.",
    "logToFile": "Store the logs in a file instead of the state DB.",
    "workerGroup": "With the celery executor, `key` is the Celery queue of the task's attempts; locally no effect.",
    "conditions": "Conditions that must all hold for the trigger to start an execution.",
    "inputs": "Input values of the executions it starts.", "labels": "Labels of the executions it starts.",
}


def flow_schema() -> dict[str, Any]:
    """The flow document's JSON Schema (draft-07, which VS Code's YAML extension reads)."""
    from pydantic.json_schema import models_json_schema

    from flowrun.model.flow import FlowDoc
    from flowrun.model.lite import twin
    from flowrun.model.triggers import TRIGGERS
    from flowrun.schedule.conditions import ALL_CONDITIONS
    from flowrun.tasks.base import Task

    tasks, aliases = _task_classes()
    models = [FlowDoc, Task, *dict.fromkeys(tasks.values()), *dict.fromkeys(TRIGGERS.values()),
              *ALL_CONDITIONS.values()]
    keys, defs = models_json_schema([(twin(m), "validation") for m in models], by_alias=True,
                                    ref_template="#/definitions/{model}")
    definitions: dict[str, Any] = defs.get("$defs", {})
    name = {model: keys[(twin(model), "validation")]["$ref"].rsplit("/", 1)[1] for model in models}
    definitions["AnyTask"] = _union({t: name[c] for t, c in tasks.items()}, aliases, "A task.")
    definitions["AnyTrigger"] = _union({t: name[c] for t, c in TRIGGERS.items()}, {}, "A trigger.")
    definitions["AnyCondition"] = _conditions({n: name[c] for n, c in ALL_CONDITIONS.items()})
    definitions["AnyInput"] = _inputs(definitions)
    _link(definitions, name[Task], name[FlowDoc], [name[c] for c in set(TRIGGERS.values())])
    for definition in definitions.values():
        for prop in definition.get("properties", {}).values():
            prop.pop("title", None)  # pydantic's titles ("Runif") say less than the property name
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
            "title": "flowrun flow", "description": "A Kestra-style flow, as flowrun runs it.",
            "$ref": f"#/definitions/{name[FlowDoc]}", "definitions": dict(sorted(definitions.items()))}


def _task_classes() -> tuple[dict[str, Any], dict[str, str]]:
    """Every registered task type whose module is present -> its class; and alias -> canonical name."""
    from flowrun.tasks.registry import ALIASES, TASKS, _module_exists, task_class

    tasks = {t: task_class(t) for t, target in TASKS.items() if _module_exists(target)}
    return tasks, {a: c for a, c in ALIASES.items() if c in tasks}


def _union(types: dict[str, str], aliases: dict[str, str], description: str) -> dict[str, Any]:
    """Any of the models, chosen by the value of `type` (an if/then per type, which editors report well)."""
    names = {**types, **{alias: types[canonical] for alias, canonical in aliases.items()}}
    return {"type": "object", "description": description, "required": ["type"],
            "properties": {"type": {"enum": sorted(names), "description": COMMON["type"]}},
            "allOf": [{"if": {"properties": {"type": {"const": t}}, "required": ["type"]},
                       "then": {"$ref": f"#/definitions/{ref}"}} for t, ref in sorted(names.items())]}


def _conditions(classes: dict[str, str]) -> dict[str, Any]:
    """A condition: its `type` is the short name, a full name or a legacy `...Condition` name."""
    from flowrun.schedule.conditions import PREFIXES

    prefixes = "|".join(re.escape(p) for p in PREFIXES)
    cases = [{"if": {"properties": {"type": {"pattern": f"^({prefixes})?{short}(Condition)?$"}}},
              "then": {"$ref": f"#/definitions/{ref}"}} for short, ref in sorted(classes.items())]
    return {"type": "object", "required": ["type"], "description": "A trigger condition.",
            "properties": {"type": {"type": "string", "pattern": f"^({prefixes})?({'|'.join(sorted(classes))}|"
                                                                  "VariableCondition)(Condition)?$"}},
            "allOf": cases}


def _inputs(definitions: dict[str, Any]) -> dict[str, Any]:
    """An input, chosen by its `type` (STRING, INT, ...)."""
    from typing import Annotated

    from pydantic import Field, TypeAdapter

    from flowrun.model.inputs import InputSpec

    discriminated = Annotated[InputSpec, Field(discriminator="type")]
    schema = TypeAdapter(discriminated).json_schema(by_alias=True, ref_template="#/definitions/{model}")
    definitions.update(schema.pop("$defs", {}))
    mapping = schema.get("discriminator", {}).get("mapping", {})
    return {"type": "object", "required": ["type"], "description": "A flow input.",
            "properties": {"type": {"enum": sorted(mapping)}},
            "allOf": [{"if": {"properties": {"type": {"const": kind}}}, "then": {"$ref": ref}}
                      for kind, ref in sorted(mapping.items())]}


def _link(definitions: dict[str, Any], task: str, flow: str, triggers: list[str]) -> None:
    """Point child task lists at AnyTask, and the flow's raw lists at tasks, inputs and triggers."""
    for definition in definitions.values():
        _retarget(definition, f"#/definitions/{task}", "#/definitions/AnyTask")
    props = definitions[flow]["properties"]
    for key in ("tasks", "errors", "finally", "afterExecution"):
        props[key] = {**_described(props[key]), "type": "array", "items": {"$ref": "#/definitions/AnyTask"}}
    props["inputs"] = {**_described(props["inputs"]), "type": "array", "items": {"$ref": "#/definitions/AnyInput"}}
    props["triggers"] = {**_described(props["triggers"]), "type": "array",
                         "items": {"$ref": "#/definitions/AnyTrigger"}}
    props["tasks"]["minItems"] = 1
    for name in (n for n in definitions if n != flow and not n.startswith("Any")):
        for key, prop in definitions[name].get("properties", {}).items():
            if key in COMMON and "description" not in prop:
                prop["description"] = COMMON[key]
    for name in triggers:
        definitions[name]["properties"]["conditions"] = {
            "description": COMMON["conditions"], "type": "array", "items": {"$ref": "#/definitions/AnyCondition"}}


def _described(prop: dict[str, Any]) -> dict[str, Any]:
    return {"title": prop["title"]} if "title" in prop else {}


def _retarget(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _retarget(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _retarget(value, old, new)
