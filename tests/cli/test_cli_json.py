"""Machine-readable output: `validate --json` problems and the JSON error document of `run --json`."""

from __future__ import annotations

import json

BAD = """
id: bad
namespace: demo
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.nope }}"
"""

WARNED = """
id: warned
namespace: demo
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.date }}"
"""


def test_validate_json_gives_located_problems_with_severity(project) -> None:
    project.flow(BAD, "bad.yaml")
    project.flow(WARNED, "warned.yaml")
    result = project.cli("validate", "flows", "--json")
    assert result.code == 3 and "Traceback" not in result.stderr
    document = result.json()
    assert document["valid"] is False
    by_file = {f["file"]: f for f in document["files"]}
    bad, warned = by_file["flows/bad.yaml"], by_file["flows/warned.yaml"]
    assert bad["valid"] is False and warned["valid"] is True
    [problem] = bad["problems"]
    assert problem == {"file": "flows/bad.yaml", "line": 6, "column": 18, "path": "tasks[0].message",
                       "message": problem["message"], "severity": "error"}
    assert "inputs.nope" in problem["message"]
    [warning] = warned["problems"]
    assert warning["severity"] == "warning" and warning["line"] == 6 and "trigger" in warning["message"]


def test_validate_json_of_valid_flows_exits_0(project) -> None:
    project.flow(WARNED, "warned.yaml")
    result = project.cli("validate", "flows/warned.yaml", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["valid"] is True


def test_run_json_on_an_invalid_flow_prints_a_json_error_document(project) -> None:
    project.flow(BAD, "bad.yaml")
    result = project.cli("run", "flows/bad.yaml", "--json")
    assert result.code == 3 and "Traceback" not in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "InvalidFlowError" and error["exitCode"] == 3
    assert error["problems"][0]["line"] == 6 and error["problems"][0]["path"] == "tasks[0].message"
    assert "flows/bad.yaml:6:18" in result.stderr  # the human message stays on stderr


def test_run_json_with_an_undeclared_input_names_it_in_the_document(project) -> None:
    project.flow(WARNED, "warned.yaml")
    result = project.cli("run", "flows/warned.yaml", "--input", "x=1", "--json")
    assert result.code == 3
    error = result.json()["error"]
    assert error["type"] == "InputError" and error["problems"][0]["path"] == "input `x`"
    assert error["hint"]


def test_run_json_with_a_bad_input_option_is_a_usage_error_document(project) -> None:
    project.flow(WARNED, "warned.yaml")
    result = project.cli("run", "flows/warned.yaml", "--input", "novalue", "--json")
    assert result.code == 2
    assert result.json()["error"]["exitCode"] == 2 and "key=value" in result.json()["error"]["message"]
