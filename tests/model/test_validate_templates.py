"""`flowrun validate` checks every templated property: syntax, names, inputs, task ids, variables, triggers."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
import yaml
from conftest import COMPAT, ZOOMCAMP, Project
from helpers import assert_clean

from flowrun.app.flows import validate_paths
from flowrun.tasks.registry import available_types

LOG = "io.kestra.plugin.core.log.Log"


def flow_with(project: Project, task_body: str, head: str = "") -> None:
    """A flow with two inputs, one variable, a task `first` and the task written in `task_body` (line 15 on)."""
    project.flow(f"""\
id: f
namespace: dev
inputs:
  - id: taxi
    type: STRING
    defaults: green
variables:
  file: "{{{{ inputs.taxi }}}}.csv"
{head}tasks:
  - id: first
    type: {LOG}
    message: hi
  - id: second
    type: {LOG}
{task_body}""")


def problems_of(project: Project) -> list[str]:
    [(_, problems)] = validate_paths([str(project.root / "flows" / "flow.yaml")], str(project.home))
    return [str(p).replace(str(project.root) + "/", "") for p in problems]


# -- each error kind, located -------------------------------------------------------------------------------
def test_the_three_broken_templates_of_the_issue(project: Project) -> None:
    project.flow(f"""\
id: f
namespace: dev
inputs:
  - id: taxi
    type: STRING
  - id: owner
    type: STRING
tasks:
  - id: a
    type: {LOG}
    message: "{{{{ inputs.owner }}"
  - id: b
    type: {LOG}
    message: "{{{{ inputs.taxi | uppercase }}}}"
  - id: c
    type: {LOG}
    message: "{{{{ inputs.taxy }}}}"
""")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 3)
    assert result.stderr.splitlines() == [
        "flows/flow.yaml:11:15: tasks[0].message: template syntax error: Unexpected \"}\"; "
        "close the expression with '}}'",
        "flows/flow.yaml:14:30: tasks[1].message: unknown filter 'uppercase'; did you mean 'upper'?",
        "flows/flow.yaml:17:18: tasks[2].message: `inputs.taxy` reads input 'taxy', which the flow does not declare; "
        "did you mean 'taxi'?",
        "1 of 1 flow file(s) invalid",
    ]
    run = project.cli("run", "flows/flow.yaml")
    assert_clean(run, 3)  # nothing runs
    assert "unknown filter 'uppercase'" in run.stderr


@pytest.mark.parametrize(("body", "expected"), [
    ("    message: \"{{ 1 + }}\"\n",
     "flows/flow.yaml:15:15: tasks[1].message: template syntax error: Unexpected token end of expression"),
    ("    message: \"{% if true %}x\"\n",
     "flows/flow.yaml:15:15: tasks[1].message: template syntax error: Unclosed tag, expected one of"),
    ("    message: \"{{ inputs.taxi | lenght }}\"\n",
     "flows/flow.yaml:15:30: tasks[1].message: unknown filter 'lenght'; did you mean 'length'?"),
    ("    message: \"{{ nowz() }}\"\n",
     "flows/flow.yaml:15:18: tasks[1].message: unknown function 'nowz'; did you mean 'now'?"),
    ("    message: \"{{ 2 is evn }}\"\n",
     "flows/flow.yaml:15:20: tasks[1].message: unknown test 'evn'; did you mean 'even'?"),
    ("    message: \"{{ outputs.frist.value }}\"\n",
     "flows/flow.yaml:15:18: tasks[1].message: `outputs.frist.value` reads the outputs of task 'frist', "
     "which is no task of this flow; did you mean 'first'?"),
    ("    message: \"{{ outputs['nothing-here'].value }}\"\n",
     "flows/flow.yaml:15:18: tasks[1].message: `outputs.nothing-here.value` reads the outputs of task "
     "'nothing-here', which is no task of this flow (its tasks: first, second)"),
    ("    message: \"{{ vars.fiel }}\"\n",
     "flows/flow.yaml:15:18: tasks[1].message: `vars.fiel` reads variable 'fiel', which is not in the flow's "
     "`variables`; did you mean 'file'?"),
    ("    message: \"{{ inputs.zzz }}\"\n",
     "flows/flow.yaml:15:18: tasks[1].message: `inputs.zzz` reads input 'zzz', which the flow does not declare "
     "(its inputs: taxi)"),
], ids=["syntax", "unclosed-tag", "filter", "function", "test", "outputs", "outputs-bracket", "vars", "inputs"])
def test_each_template_error_kind_is_located(project: Project, body: str, expected: str) -> None:
    flow_with(project, body)
    found = problems_of(project)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_block_scalar_error_points_at_its_own_line(project: Project) -> None:
    flow_with(project, "    message: |\n      line one\n      line two {{ vars.nope }}\n")
    assert problems_of(project) == [
        "flows/flow.yaml:17:19: tasks[1].message: `vars.nope` reads variable 'nope', which is not in the flow's "
        "`variables` (its variables: file)"]


def test_templates_outside_tasks_are_checked(project: Project) -> None:
    flow_with(project, "    message: hi\n", head="""\
outputs:
  - id: out
    type: STRING
    value: "{{ outputs.secnd.value | trim }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k
    inputs:
      taxi: "{{ trigger.body | jsn }}"
""")
    assert problems_of(project) == [
        "flows/flow.yaml:12:16: outputs[0].value: `outputs.secnd.value` reads the outputs of task 'secnd', which is "
        "no task of this flow; did you mean 'second'?",
        "flows/flow.yaml:18:30: triggers[0].inputs.taxi: unknown filter 'jsn'; did you mean 'json'?",
    ]


def test_a_nested_task_id_counts_and_errors_are_all_reported(project: Project) -> None:
    flow_with(project, """\
    message: "{{ outputs.inner.value }} {{ outputs.innr.value }} {{ vars.x }}"
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner
        type: io.kestra.plugin.core.debug.Return
        format: "{{ inputs.taxii }}"
""")
    found = problems_of(project)
    assert [f.split(": ")[0] for f in found] == ["flows/flow.yaml:15:44", "flows/flow.yaml:15:69",
                                                 "flows/flow.yaml:21:21"], found
    assert "'innr'" in found[0] and "did you mean 'inner'" in found[0]
    assert "tasks[2].tasks[0].format" in found[2] and "did you mean 'taxi'" in found[2]


def test_a_variable_no_template_reads_only_warns_about_its_task_outputs(project: Project) -> None:
    """A variables block copied from another flow: its templates only render when a template reads them."""
    flow_with(project, "    message: \"{{ render(vars.used) }}\"\n",
              head="  used: \"{{ outputs.gone.value }}\"\n  unused: \"{{ outputs.gone.uri }}\"\n")
    found = problems_of(project)
    assert found == [
        "flows/flow.yaml:9:13: variables.used: `outputs.gone.value` reads the outputs of task 'gone', which is no "
        "task of this flow (its tasks: first, second)",
        "warning: flows/flow.yaml:10:15: variables.unused: `outputs.gone.uri` reads the outputs of task 'gone', "
        "which is no task of this flow (its tasks: first, second); variable 'unused' is not used, so this only "
        "fails if a template reads it",
    ], found


# -- no false positives -------------------------------------------------------------------------------------
def test_valid_dynamic_and_guarded_templates_pass(project: Project) -> None:
    flow_with(project, """\
    message: >-
      {{ render(vars.file) }} {{ outputs[inputs.taxi] ?? '' }} {{ inputs.other ?? 'x' }}
      {{ vars.missing | default('d') }} {% if inputs.maybe is defined %}{{ inputs.maybe }}{% endif %}
      {% set vars = {'a': 1} %}{{ vars.a }} {% for inputs in [1, 2] %}{{ inputs.b ?? loop.index }}{% endfor %}
      {% macro greet(outputs) %}{{ outputs.anything }}{% endmacro %}{{ greet({'anything': 1}) }}
      {{ outputs.first.value ?? '' }} {{ taskrun.value ?? '' }} {{ parents[0].taskrun.value ?? '' }}
      {{ outputs.each[taskrun.value ?? 'x'].value ?? '' }} {{ "#{ inputs.taxi }" }} {% raw %}{{ x | nope }}{% endraw %}
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: in_each
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }} {{ parent.taskrun.value }} {{ outputs.each[taskrun.value] ?? '' }}"
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: dev
    flowId: f
    outputs:
      child_value: "{{ outputs.a_task_of_the_child.value }}"
    description: "{{ not rendered }"
""")
    assert problems_of(project) == []


def test_the_compat_flows_validate_without_a_false_positive(project: Project) -> None:
    """Every compat flow whose task types flowrun supports exits 0 with no problem at all; the others fail
    only on their unsupported types (see test_compat)."""
    known = set(available_types())
    docs = {f: yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(COMPAT.rglob("*.y*ml"))}
    flows = [f for f, doc in docs.items() if isinstance(doc, dict) and {"id", "namespace", "tasks"} <= set(doc)]
    supported = [f for f in flows if _types(docs[f]) <= known]
    assert len(supported) >= 15 and (COMPAT / "seed" / "hello-world.yaml") in supported
    result = project.cli("validate", *map(str, supported))
    assert_clean(result, 0)
    assert result.stderr == ""  # not even a warning
    assert result.stdout.count("ok  ") == len(supported)
    others = project.cli("validate", *map(str, sorted(set(flows) - set(supported))))
    assert_clean(others, 3)
    lines = others.stderr.splitlines()[:-1]
    assert lines and all("is not supported by flowrun" in line for line in lines), lines


def _types(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "id" in node and isinstance(node.get("type"), str) and "." in node["type"]:
            found.add(node["type"])
        for key, child in node.items():
            if key not in ("triggers", "pluginDefaults", "taskDefaults"):
                found |= _types(child)
    elif isinstance(node, list):
        for child in node:
            found |= _types(child)
    return found


# -- warnings -----------------------------------------------------------------------------------------------
def test_trigger_in_a_flow_without_trigger_is_a_warning(project: Project) -> None:
    flow_with(project, "    message: \"{{ trigger.date }} {{ trigger.other ?? 'manual' }}\"\n")
    result = project.cli("validate", "flows/flow.yaml")
    assert_clean(result, 0)
    assert "ok  flows/flow.yaml" in result.stdout
    assert result.stderr.splitlines() == [
        "warning: flows/flow.yaml:15:18: tasks[1].message: reads `trigger.date` but the flow has no trigger: "
        "a manual run has no `trigger` (only a trigger or a Subflow task sets it)"]


def test_a_subflow_target_reading_trigger_date_is_a_warning(project: Project) -> None:
    project.flow(f"""\
id: child
namespace: dev
tasks:
  - id: uses
    type: {LOG}
    message: "{{{{ trigger.date }}}} {{{{ trigger.executionId }}}}"
""", "child.yaml")
    project.flow("""\
id: parent
namespace: dev
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: dev
    flowId: child
""", "parent.yaml")
    result = project.cli("validate", "flows/parent.yaml")
    assert_clean(result, 0)
    assert result.stderr.splitlines() == [
        "warning: flows/parent.yaml:4:5: task `call`: subflow dev/child reads `trigger.date`, which a Subflow call "
        "does not set (it sets trigger.executionId, trigger.namespace, trigger.flowId, trigger.flowRevision)"]


# -- at run time --------------------------------------------------------------------------------------------
def test_a_scheduled_flow_run_by_hand_says_how_to_run_it(project: Project) -> None:
    source = ZOOMCAMP / "current" / "05_postgres_taxi_scheduled.yaml"
    shutil.copy(source, project.root / "flows" / source.name)
    result = project.cli("run", f"flows/{source.name}")
    assert_clean(result, 1)
    logs = project.cli("logs", project.cli("executions", "list", "--json").json()[0]["id"]).stdout
    m = re.search(r"ERROR set_label: task `set_label`, property `labels\.file` at "
                  r"flows/05_postgres_taxi_scheduled\.yaml:27:14: template error: Unable to find `trigger` in `.*` "
                  r"\(from `variables\.file` at flows/05_postgres_taxi_scheduled\.yaml:18:10\); this flow reads "
                  r"trigger\.date; run one occurrence with --trigger green_schedule --date (\S+), "
                  r"or use flowrun backfill$", logs, re.M)
    assert m, logs
    date = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC)
    assert (date.day, date.hour, date.minute) == (1, 9, 0) and date <= datetime.now(UTC)  # cron 0 9 1 * *
    assert "printContext" in logs  # an undefined name: the hint to list the names in scope


def test_a_run_time_error_in_a_block_scalar_names_its_file_line(project: Project) -> None:
    project.flow("""\
id: f
namespace: dev
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: sh
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - |
            echo one
            echo {{ execution.id | number }}
""")
    result = project.cli("run", "flows/flow.yaml")
    assert_clean(result, 1)
    assert re.search(r"ERROR sh: task `sh`, property `commands\[0\]` at flows/flow\.yaml:12:13: template error: "
                     r"\w+ is not a valid number", result.stdout + result.stderr), result.stdout + result.stderr
    assert "hint:" not in result.stdout + result.stderr  # no advice that does not fit
