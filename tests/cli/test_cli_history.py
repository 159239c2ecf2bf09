"""History views: `executions show` and `list` text, `--state` checking, and `logs --level/--json/--task`."""

from __future__ import annotations

import re

import pytest

LOOP = """
id: loop
namespace: demo
inputs:
  - id: who
    type: STRING
    defaults: Ana
  - id: pw
    type: SECRET
labels:
  team: data
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
outputs:
  - id: greeting
    type: STRING
    value: "hi {{ inputs.who }}"
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    from conftest import Project

    project = Project(tmp_path_factory.mktemp("history"))
    project.flow(LOOP, "loop.yaml")
    result = project.cli("run", "flows/loop.yaml", "--input", "pw=s3cret", "--label", "month=2019-01", "--json")
    assert result.code == 0, result.stderr
    return project, result.json()["id"]


def test_show_prints_inputs_outputs_labels_revision_and_nested_runs(ran) -> None:
    project, execution_id = ran
    result = project.cli("executions", "show", execution_id)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "s3cret" not in out and "pw=******" in out and "who=Ana" in out
    assert "outputs  greeting=hi Ana" in out and "team=data" in out and "month=2019-01" in out
    assert re.search(r"revision 1\b", out)
    assert re.search(r"SUCCESS\s+each\s+\d+\.\d\ds\s+-$", out, re.M), out  # a flowable has no attempt, not 0
    assert re.search(r"SUCCESS\s+ {2}say \[a\]\s+\d+\.\d\ds\s+1$", out, re.M), out
    assert "attempts=0" not in out


def test_list_shows_duration_and_labels(ran) -> None:
    project, execution_id = ran
    result = project.cli("executions", "list")
    assert result.code == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith(execution_id)]
    assert re.search(r"SUCCESS .* \d+\.\d\ds  demo/loop  team=data,month=2019-01$", line), line


def test_list_rejects_an_unknown_state(ran) -> None:
    project, _ = ran
    result = project.cli("executions", "list", "--state", "FAILD")
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "unknown state `FAILD`; did you mean FAILED?" in result.stderr
    assert project.cli("executions", "list", "--state", "success").code == 0


def test_logs_level_json_and_unknown_task(ran) -> None:
    project, execution_id = ran
    warned = project.cli("logs", execution_id, "--level", "WARN")
    assert warned.code == 0 and "careful" in warned.stdout and "say:" not in warned.stdout
    lines = project.cli("logs", execution_id, "--task", "say", "--json").json()
    assert [line["message"] for line in lines] == ["a", "b"] and {line["task_id"] for line in lines} == {"say"}
    unknown = project.cli("logs", execution_id, "--task", "sya")
    assert unknown.code == 2 and f"execution `{execution_id}` has no task `sya`" in unknown.stderr
    assert "its tasks: each, say, warn" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_level = project.cli("logs", execution_id, "--level", "LOUD")
    assert bad_level.code == 2 and "unknown log level `LOUD`" in bad_level.stderr
