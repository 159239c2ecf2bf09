"""`flowrun schema`: the committed docs/flow.schema.json is current, and every supported flow validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import COMPAT, ROOT

from flowrun.app.flows import validate_paths
from flowrun.schema import flow_schema

COMMITTED = ROOT / "docs" / "flow.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return flow_schema()


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _supported_flows() -> list[str]:
    """The flows under ../shared/compat/ and flows/ that flowrun validates (the others name unsupported types)."""
    results = validate_paths([str(COMPAT), str(ROOT / "flows")])
    return [file for file, problems in results if not any(p.is_error for p in problems)]


def test_committed_schema_is_current(schema: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == schema, "docs/flow.schema.json is stale: run `flowrun schema > docs/flow.schema.json`"


def test_schema_command_prints_it(project) -> None:
    result = project.cli("schema")
    assert result.code == 0, result.stderr
    assert result.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_every_supported_flow_validates_against_the_schema(validator: jsonschema.Draft7Validator) -> None:
    files = _supported_flows()
    assert len(files) >= 15 and any("/flows/" in f for f in files) and any("compat" in f for f in files)
    for file in files:
        errors = [f"{list(e.absolute_path)}: {e.message}"
                  for e in validator.iter_errors(yaml.safe_load(Path(file).read_text(encoding="utf-8")))]
        assert errors == [], file


def test_schema_describes_every_task_type(schema: dict[str, Any]) -> None:
    from flowrun.tasks.registry import available_types

    task = schema["definitions"]["AnyTask"]
    assert set(task["properties"]["type"]["enum"]) == set(available_types())
    log = schema["definitions"]["Log"]
    assert log["description"].startswith("Log a message") and log["additionalProperties"] is False
    assert log["properties"]["timeout"]["description"].startswith("ISO-8601")
    concurrency = schema["definitions"]["Concurrency"]["properties"]["behavior"]
    assert concurrency["enum"] == ["QUEUE", "CANCEL", "FAIL"]
    inputs = schema["definitions"]["AnyInput"]["properties"]["type"]["enum"]
    assert {"STRING", "SELECT", "SECRET"} <= set(inputs)


def _flow(tasks: list[Any], **extra: Any) -> dict[str, Any]:
    return {"id": "f", "namespace": "demo", "tasks": tasks, **extra}


LOG = "io.kestra.plugin.core.log.Log"
BAD = {
    "unknown property": _flow([{"id": "a", "type": LOG, "messag": "x"}]),
    "unknown type": _flow([{"id": "a", "type": "io.kestra.plugin.core.log.Lg", "message": "x"}]),
    "nested unknown property": _flow([{"id": "if", "type": "io.kestra.plugin.core.flow.If", "condition": "x",
                                       "then": [{"id": "a", "type": LOG, "mesage": "x"}]}]),
    "bad input type": _flow([{"id": "a", "type": LOG, "message": "x"}], inputs=[{"id": "i", "type": "NOPE"}]),
    "bad trigger property": _flow([{"id": "a", "type": LOG, "message": "x"}], triggers=[
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Schedule", "cronn": "0 * * * *"}]),
    "bad condition": _flow([{"id": "a", "type": LOG, "message": "x"}], triggers=[
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 * * * *",
         "conditions": [{"type": "io.kestra.plugin.core.condition.DayWeek", "day": "MONDAY"}]}]),
    "no tasks": _flow([]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_schema_rejects_what_flowrun_rejects(validator: jsonschema.Draft7Validator, case: str) -> None:
    assert not validator.is_valid(BAD[case])


def test_schema_accepts_legacy_aliases_and_conditions(validator: jsonschema.Draft7Validator) -> None:
    flow = _flow([{"id": "a", "type": "io.kestra.core.tasks.log.Log", "message": "x"}], triggers=[
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 * * * *",
         "conditions": [{"type": "io.kestra.core.models.conditions.types.DayWeekCondition", "dayOfWeek": "MONDAY"}]}])
    assert [e.message for e in validator.iter_errors(flow)] == []
