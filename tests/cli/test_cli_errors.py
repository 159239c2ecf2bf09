"""Every bad input of issue 2 through the real CLI: its exit code, a located message, and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Project
from helpers import assert_clean

LOG = "io.kestra.plugin.core.log.Log"


def one_task_flow(project: Project, body: str, name: str = "flow.yaml", flow_id: str = "f") -> Path:
    return project.flow(f"id: {flow_id}\nnamespace: t\ntasks:\n{body}", name)


def logs_of_last(project: Project) -> str:
    listed = project.cli("executions", "list", "--json")
    assert_clean(listed, 0)
    result = project.cli("logs", listed.json()[0]["id"])
    assert_clean(result, 0)
    return result.stdout


# -- invalid flows: exit 3, file:line ---------------------------------------------------------------------
def test_bad_yaml_gives_file_line_column(project: Project) -> None:
    path = one_task_flow(project, f"  - id: a\n    type: {LOG}\n    message: [unclosed\n", "bad.yaml")
    for command in ("validate", "run"):
        result = project.cli(command, "flows/bad.yaml")
        assert_clean(result, 3)
        assert re.search(r"flows/bad\.yaml:\d+:\d+: .*YAML", result.stderr), result.stderr
    assert path.exists()


def test_duplicate_yaml_key_is_an_error(project: Project) -> None:
    one_task_flow(project, f"  - id: a\n    type: {LOG}\n    message: one\n    message: two\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert "flows/flow.yaml:" in result.stderr and "message" in result.stderr


def test_unknown_kestra_type_is_not_supported(project: Project) -> None:
    one_task_flow(project, "  - id: foo\n    type: io.kestra.plugin.foo.Bar\n")
    for command in ("validate", "run"):
        result = project.cli(command, "flows/flow.yaml")
        assert_clean(result, 3)
        assert re.search(r"flows/flow\.yaml:5:\d+: task `foo`: type io\.kestra\.plugin\.foo\.Bar "
                         r"is not supported by flowrun", result.stderr), result.stderr


def test_unknown_foreign_type_suggests_closest(project: Project) -> None:
    one_task_flow(project, "  - id: hello\n    type: io.kestra.plugin.core.log.Lgo\n    message: hi\n"
                  "  - id: other\n    type: kestra.plugin.core.log.Log\n    message: hi\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert re.search(r"flows/flow\.yaml:8:\d+: task `other`: .*did you mean .*io\.kestra\.plugin\.core\.log\.Log",
                     result.stderr), result.stderr


def test_typo_in_kestra_type_suggests_closest(project: Project) -> None:
    one_task_flow(project, "  - id: hello\n    type: io.kestra.plugin.core.log.Lgo\n    message: hi\n")
    for command in ("validate", "run"):
        result = project.cli(command, "flows/flow.yaml")
        assert_clean(result, 3)
        assert re.search(r"flows/flow\.yaml:5:\d+: task `hello`: .*did you mean .*io\.kestra\.plugin\.core\.log\.Log",
                         result.stderr), result.stderr


def test_property_typo_is_one_error_with_the_closest_name(project: Project) -> None:
    one_task_flow(project, f"  - id: hello\n    type: {LOG}\n    mesage: hi\n")
    for command in ("validate", "run"):
        result = project.cli(command, "flows/flow.yaml")
        assert_clean(result, 3)
        assert re.search(r"flows/flow\.yaml:6:5: task `hello`: unknown property 'mesage'; did you mean 'message'\?",
                         result.stderr), result.stderr
        assert "missing required" not in result.stderr  # the typo is the one problem, not two
        assert "valid properties" not in result.stderr


def test_property_typo_matches_case_insensitively(project: Project) -> None:
    one_task_flow(project, "  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n"
                           "    commands: [ls]\n    inputfiles:\n      a.txt: hi\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert re.search(r"flows/flow\.yaml:7:5: task `sh`: unknown property 'inputfiles'; did you mean 'inputFiles'\?$",
                     result.stderr, re.M), result.stderr
    assert "valid properties" not in result.stderr


def test_unknown_property_without_close_match_lists_the_valid_ones(project: Project) -> None:
    one_task_flow(project, f"  - id: hello\n    type: {LOG}\n    message: hi\n    zzqx: 1\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert re.search(r"flows/flow\.yaml:7:5: task `hello`: unknown property 'zzqx' \(valid properties: .*message",
                     result.stderr), result.stderr
    assert "did you mean" not in result.stderr


def test_duplicate_ids_top_level_and_nested(project: Project) -> None:
    one_task_flow(project, f"""\
  - id: a
    type: {LOG}
    message: x
  - id: a
    type: {LOG}
    message: y
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner
        type: {LOG}
        message: z
      - id: seq
        type: {LOG}
        message: z
errors:
  - id: inner
    type: {LOG}
    message: e
""")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    lines = [line for line in result.stderr.splitlines() if "duplicate task id" in line]
    assert any(line.startswith("flows/flow.yaml:7:") and "`a`" in line for line in lines), result.stderr
    assert any(line.startswith("flows/flow.yaml:16:") and "`seq`" in line for line in lines), result.stderr
    assert any(line.startswith("flows/flow.yaml:20:") and "`inner`" in line for line in lines), result.stderr


def test_all_problems_reported_at_once(project: Project) -> None:
    one_task_flow(project, f"""\
  - id: a
    type: io.kestra.plugin.foo.Bar
  - id: b
    type: {LOG}
    bogus: 1
""")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert "task `a`" in result.stderr and "task `b`" in result.stderr


def test_bad_id_and_namespace(project: Project) -> None:
    project.flow(f"id: -bad\nnamespace: Upper\ntasks:\n  - id: a\n    type: {LOG}\n    message: x\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert "flows/flow.yaml:1" in result.stderr and "flows/flow.yaml:2" in result.stderr


def test_validate_directory_and_ok_lines(project: Project) -> None:
    one_task_flow(project, f"  - id: a\n    type: {LOG}\n    message: x\n", "good.yaml", "good")
    one_task_flow(project, "  - id: a\n    type: io.kestra.plugin.foo.Bar\n", "sub/bad.yaml", "bad")
    result = project.cli("validate", "flows")
    assert_clean(result, 3)
    assert "ok  flows/good.yaml" in result.stdout
    assert "flows/sub/bad.yaml:5" in result.stderr
    (project.root / "flows" / "sub" / "bad.yaml").unlink()
    assert_clean(project.cli("validate", "flows"), 0)


# -- bad inputs: exit 3 naming the input and its type -------------------------------------------------------
INPUT_FLOW = f"""\
id: f
namespace: t
inputs:
  - id: count
    type: INT
  - id: color
    type: SELECT
    values: [red, green]
    defaults: red
tasks:
  - id: a
    type: {LOG}
    message: "{{{{ inputs.count }}}}"
"""


def test_bad_input_value(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("run", "flows/flow.yaml", "--input", "count=abc")
    assert_clean(result, 3)
    assert "input `count`" in result.stderr and "INT" in result.stderr and "abc" in result.stderr
    result = project.cli("run", "flows/flow.yaml", "--input", "count=1", "--input", "color=blue")
    assert_clean(result, 3)
    assert "input `color`" in result.stderr and "red" in result.stderr and "green" in result.stderr
    assert project.cli("executions", "list", "--json").json() == []  # nothing ran


def test_missing_required_input(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("run", "flows/flow.yaml")
    assert_clean(result, 3)
    assert "input `count`" in result.stderr


# -- errors at run time: the task fails, flowrun does not ----------------------------------------------------
def test_template_syntax_error_in_the_flow_stops_before_anything_runs(project: Project) -> None:
    one_task_flow(project, f"  - id: broken\n    type: {LOG}\n    message: \"{{{{ 1 + }}}}\"\n")
    result = project.cli("run", "flows/flow.yaml")
    assert_clean(result, 3)
    assert re.search(r"flows/flow\.yaml:6:15: tasks\[0\]\.message: template syntax error", result.stderr), result.stderr
    assert project.cli("executions", "list", "--json").json() == []


def test_template_syntax_error_at_run_time_names_task_property_and_line(project: Project) -> None:
    project.flow(f"""\
id: f
namespace: t
inputs:
  - id: tpl
    type: STRING
tasks:
  - id: broken
    type: {LOG}
    message: "{{{{ render(inputs.tpl) }}}}"
""")
    result = project.cli("run", "flows/flow.yaml", "--input", "tpl={{ 1 + }}")
    assert_clean(result, 1)
    logs = logs_of_last(project)
    assert re.search(r"ERROR\s+broken: task `broken`, property `message` at flows/flow\.yaml:9:15: "
                     r"template error: Unexpected token", logs), logs
    assert "hint: fix the template syntax" in logs
    assert "printContext" not in logs  # advice for an undefined name, not for bad syntax


def test_undefined_variable_fails_the_task(project: Project) -> None:
    one_task_flow(project, f"  - id: uses\n    type: {LOG}\n    message: \"{{{{ nope.x }}}}\"\n")
    result = project.cli("run", "flows/flow.yaml", "--json")
    assert_clean(result, 1)
    doc = result.json()
    assert doc["state"] == "FAILED" and doc["taskRuns"][0]["state"] == "FAILED"
    logs = logs_of_last(project)
    assert ("ERROR uses: task `uses`, property `message` at flows/flow.yaml:6:15: template error: "
            "Unable to find `nope` in `{{ nope.x }}`\n") in logs, logs
    assert "hint: list the names in scope with {{ printContext() }}" in logs


def test_missing_secret_says_how_to_set_it(project: Project) -> None:
    one_task_flow(project, f"  - id: needs\n    type: {LOG}\n    message: \"{{{{ secret('NOPE') }}}}\"\n")
    result = project.cli("run", "flows/flow.yaml")
    assert_clean(result, 1)
    logs = logs_of_last(project)
    assert re.search(r"ERROR\s+needs: .*secret `NOPE` is not defined; set SECRET_NOPE", logs), logs


# -- usage errors: exit 2 -----------------------------------------------------------------------------------
def test_input_without_equals_is_usage_error(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("run", "flows/flow.yaml", "--input", "count")
    assert_clean(result, 2)
    assert "count" in result.stderr and "key=value" in result.stderr


def test_unknown_option_is_usage_error(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("run", "flows/flow.yaml", "--bogus")
    assert_clean(result, 2)
    assert "--bogus" in result.stderr


def test_missing_argument_is_usage_error(project: Project) -> None:
    assert_clean(project.cli("run"), 2)


def test_missing_flow_file(project: Project) -> None:
    result = project.cli("run", "flows/nope.yaml")
    assert_clean(result, 3)
    assert "flows/nope.yaml" in result.stderr and "not found" in result.stderr


def test_unknown_namespace_flow_id(project: Project) -> None:
    result = project.cli("run", "t/nope")
    assert_clean(result, 2)
    assert "nope" in result.stderr


def test_show_unknown_execution(project: Project) -> None:
    for args in (("executions", "show", "nope"), ("logs", "nope")):
        result = project.cli(*args)
        assert_clean(result, 2)
        assert "no execution `nope`" in result.stderr


def test_render_bad_context_is_usage_error(project: Project) -> None:
    result = project.cli("render", "{{ a }}", "--context", "{not json")
    assert_clean(result, 2)
    assert "--context" in result.stderr


# -- the exit-code table ------------------------------------------------------------------------------------
def test_exit_code_table(project: Project) -> None:
    one_task_flow(project, f"  - id: a\n    type: {LOG}\n    message: ok\n", "ok.yaml", "ok")
    one_task_flow(project, "  - id: a\n    type: io.kestra.plugin.core.execution.Fail\n    allowFailure: true\n",
                  "warn.yaml", "warn")
    one_task_flow(project, "  - id: a\n    type: io.kestra.plugin.core.execution.Fail\n", "fail.yaml", "fail")
    one_task_flow(project, "  - id: a\n    type: io.kestra.plugin.core.flow.Pause\n", "paused.yaml", "paused")
    one_task_flow(project, "  - id: a\n    type: io.kestra.plugin.foo.Bar\n", "invalid.yaml", "invalid")
    expected = {"ok": (0, "SUCCESS"), "warn": (0, "WARNING"), "fail": (1, "FAILED"), "paused": (5, "PAUSED")}
    for name, (code, state) in expected.items():
        result = project.cli("run", f"flows/{name}.yaml", "--json")
        assert_clean(result, code)
        assert result.json()["state"] == state
    assert_clean(project.cli("run", "flows/ok.yaml", "--input", "x"), 2)
    assert_clean(project.cli("run", "flows/invalid.yaml"), 3)


def test_state_failure_exits_4(project: Project, tmp_path: Path) -> None:
    one_task_flow(project, f"  - id: a\n    type: {LOG}\n    message: ok\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a dir")
    home = str(blocker / "home")
    for args in (("run", "flows/flow.yaml"), ("executions", "list")):
        result = project.cli(*args, env={"FLOWRUN_HOME": home})
        assert_clean(result, 4)
        assert home in result.stderr
