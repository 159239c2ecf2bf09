"""A secret's clear text never reaches the terminal, the logs, `executions show` or any byte of the state dir."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import CliResult, Project

DB_PASSWORD = "pw-Hunter-4242"
INPUT_SECRET = "in-Walrus-1313"
FILE_TOKEN = "tok-Zebra-7777"
CLEAR = (DB_PASSWORD, INPUT_SECRET, FILE_TOKEN)

FLOW = """\
id: secretive
namespace: t
inputs:
  - id: password
    type: SECRET
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message:
      - "db={{ secret('DB_PASSWORD') }} input={{ inputs.password }} file={{ secret('FILE_TOKEN') }}"
      - "embedded: [{{ secret('DB_PASSWORD') | trim }}]"
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('DB_PASSWORD') }}"
  - id: values
    type: io.kestra.plugin.core.output.OutputValues
    values:
      db: "{{ secret('DB_PASSWORD') }}"
      input: "{{ inputs.password }}"
      token: "{{ secret('FILE_TOKEN') }}"
      nested:
        list: ["{{ secret('DB_PASSWORD') }}", "prefix-{{ inputs.password }}"]
  - id: fail_with_secret
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "failing with {{ secret('DB_PASSWORD') }}"
    allowFailure: true
outputs:
  - id: db
    type: STRING
    value: "{{ secret('DB_PASSWORD') }}"
  - id: typed_secret
    type: SECRET
    value: "{{ inputs.password }}"
"""


def assert_no_clear_text(where: str, text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value!r} in clear text in {where}"


def test_secrets_never_in_clear(project: Project) -> None:
    project.flow(FLOW)
    (project.root / ".env").write_text(f"# secrets\nFILE_TOKEN={FILE_TOKEN}\n", encoding="utf-8")
    project.config("secretsFile: .env\n")
    env = {"SECRET_DB_PASSWORD": base64.b64encode(DB_PASSWORD.encode()).decode()}

    run = project.cli("run", "flows/flow.yaml", "--input", f"password={INPUT_SECRET}", "--json", env=env)
    assert run.code == 0, run.stderr
    assert_no_clear_text("run --json stdout", run.stdout)
    assert_no_clear_text("run --json stderr", run.stderr)
    doc = run.json()
    assert doc["state"] == "WARNING"
    assert doc["inputs"]["password"] == "******"
    values = {tr["taskId"]: tr for tr in doc["taskRuns"]}
    assert values["values"]["outputs"]["values"]["db"] == "******"
    assert values["ret"]["outputs"]["value"] == "******"
    assert doc["outputs"]["db"] == "******"

    shown = project.cli("executions", "show", doc["id"], "--json", env=env)
    assert shown.code == 0, shown.stderr
    assert_no_clear_text("executions show --json", shown.stdout)
    assert "******" in shown.stdout
    assert_no_clear_text("executions show", project.cli("executions", "show", doc["id"], env=env).stdout)

    logs = project.cli("logs", doc["id"], env=env)
    assert logs.code == 0
    assert_no_clear_text("flowrun logs", logs.stdout)
    assert "db=****** input=****** file=******" in logs.stdout
    assert "embedded: [******]" in logs.stdout
    assert "failing with ******" in logs.stdout

    assert_no_clear_text("render --execution", _render(project, doc["id"], env).stdout)
    _assert_state_dir_clean(project.home)


def _render(project: Project, execution_id: str, env: dict[str, str]) -> CliResult:
    return project.cli("render", "{{ outputs.values.values | json }} {{ inputs.password }}",
                       "--execution", execution_id, env=env)


def _assert_state_dir_clean(home: Path) -> None:
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "state.db" in names
    for path in files:
        data = path.read_bytes()
        for value in CLEAR:
            for form in (value.encode(), value.encode("utf-16-le"), json.dumps(value).encode()):
                assert form not in data, f"{value!r} in clear text in {path}"
