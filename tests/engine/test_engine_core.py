"""The task lifecycle and the core CLI: states, retries, handlers, outputs, JSON documents, KV, render, purge,
pluginDefaults, project discovery and help texts. Expected behaviour follows Kestra (kestra-dialect.md §1-§3).
The flows are in tests/flows/engine_core/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Project
from helpers import states

from flowrun.app.inspect import execution_logs

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def logs(project: Project, execution_id: str, task: str | None = None) -> list[tuple[str, str | None, str]]:
    return [(line["level"], line["task_id"], line["message"])
            for line in execution_logs(str(project.home), execution_id, task)]


# -- lifecycle ----------------------------------------------------------------------------------------------
def test_disabled_runif_allow_failure_allow_warning(project: Project) -> None:
    path = project.flow_file("engine_core/skips-and-tolerated-failures.yaml")
    ex = project.run(path)
    assert states(ex) == {"skipped": "SKIPPED", "skipped_empty": "SKIPPED", "runs": "SUCCESS",
                          "tolerated": "WARNING", "ignored": "SUCCESS", "last": "SUCCESS"}
    assert ex.state == "WARNING"


def test_runif_render_error_fails(project: Project) -> None:
    path = project.flow_file("engine_core/runif-render-error.yaml")
    ex = project.run(path)
    assert (ex.state, states(ex)) == ("FAILED", {"a": "FAILED"})


def test_timeout_fails_the_attempt_quickly(project: Project) -> None:
    path = project.flow_file("engine_core/timeout.yaml")
    started = time.monotonic()
    ex = project.run(path)
    assert time.monotonic() - started < 3
    assert (ex.state, states(ex)) == ("FAILED", {"slow": "FAILED"})
    assert [a.state for a in ex.task_runs[0].attempts] == ["FAILED"]
    assert any("timed out" in message for _, _, message in logs(project, ex.id))


def test_constant_retry_records_every_attempt(project: Project) -> None:
    path = project.flow_file("engine_core/constant-retry.yaml")
    ex = project.run(path)
    assert (ex.state, states(ex)) == ("FAILED", {"flaky": "FAILED"})
    [taskrun] = ex.task_runs
    assert [a.state for a in taskrun.attempts] == ["FAILED", "FAILED", "FAILED"]
    starts = [a.start_date for a in taskrun.attempts]
    assert all(later >= earlier for earlier, later in zip(starts, starts[1:], strict=False))
    errors = [m for level, task, m in logs(project, ex.id, "flaky") if level == "ERROR"]
    assert len(errors) == 3


def test_flow_level_retry_and_task_retry_wins(project: Project) -> None:
    path = project.flow_file("engine_core/flow-level-retry.yaml")
    ex = project.run(path)
    attempts = {tr.task_id: [a.state for a in tr.attempts] for tr in ex.task_runs}
    assert attempts == {"tolerated": ["FAILED"] * 2, "own": ["FAILED"] * 4}
    assert states(ex) == {"tolerated": "WARNING", "own": "FAILED"}


def test_retry_policies(project: Project) -> None:
    """exponential, random, maxDuration, and a timeout per attempt: attempts counted as kestra-dialect.md §3.5."""
    path = project.flow_file("engine_core/retry-policies.yaml")
    started = time.monotonic()
    ex = project.run(path)
    assert time.monotonic() - started < 4
    attempts = {tr.task_id: [a.state for a in tr.attempts] for tr in ex.task_runs}
    assert attempts == {"expo": ["FAILED"] * 3, "rnd": ["FAILED"] * 2, "capped": ["FAILED"] * 2,
                        "slow": ["FAILED"] * 2}
    assert ex.state == "WARNING"


class StateSpy:
    """A listener that records every execution and task-run state it is told about."""

    def __init__(self) -> None:
        self.execution: list[str] = []
        self.taskruns: dict[str, list[str]] = {}

    def execution_updated(self, execution: Any) -> None:
        if not self.execution or self.execution[-1] != execution.state:
            self.execution.append(execution.state)

    def taskrun_updated(self, execution: Any, taskrun: Any) -> None:
        seen = self.taskruns.setdefault(taskrun.task_id, [])
        if not seen or seen[-1] != taskrun.state:
            seen.append(taskrun.state)

    def log(self, line: Any) -> None:
        return None

    def metric(self, *args: Any) -> None:
        return None


def test_taskrun_state_sequence(project: Project) -> None:
    path = project.flow_file("engine_core/retry-then-skip.yaml")
    spy = StateSpy()
    project.run(path, listeners=[spy])
    assert spy.taskruns == {"flaky": ["CREATED", "RUNNING", "RETRYING", "RUNNING", "WARNING"],
                            "skipped": ["CREATED", "SKIPPED"]}


def test_execution_state_sequence_with_retry(project: Project) -> None:
    path = project.flow_file("engine_core/retry-once.yaml")
    spy = StateSpy()
    ex = project.run(path, listeners=[spy])
    assert spy.execution == ["CREATED", "RUNNING", "RETRYING", "RUNNING", "WARNING"]
    assert [h["state"] for h in ex.histories] == spy.execution


def test_errors_handler_never_rescues_and_finally_always_runs(project: Project) -> None:
    path = project.flow_file("engine_core/errors-and-finally.yaml")
    ex = project.run(path)
    assert ex.state == "FAILED"
    assert [tr.task_id for tr in ex.task_runs] == ["ok", "broken", "handler", "cleanup"]
    assert states(ex) == {"ok": "SUCCESS", "broken": "FAILED", "handler": "SUCCESS", "cleanup": "SUCCESS"}
    assert ex.end_date is not None


def test_errors_skipped_on_success_finally_runs(project: Project) -> None:
    path = project.flow_file("engine_core/finally-on-success.yaml")
    ex = project.run(path)
    assert [tr.task_id for tr in ex.task_runs] == ["ok", "cleanup"]
    assert ex.state == "SUCCESS"


def test_labels_outputvalues_and_flow_outputs(project: Project) -> None:
    path = project.flow_file("engine_core/labels-and-outputs.yaml")
    ex = project.run(path)
    assert ex.state == "SUCCESS", [(tr.task_id, tr.error) for tr in ex.task_runs]
    labels = dict(ex.labels)
    assert labels["team"] == "platform" and labels["stage"] == "prod"
    assert labels["system.correlationId"] == ex.id
    values = ex.task_runs[2].outputs["values"]
    assert values == {"count": 3, "ratio": 0.5, "flag": True, "none": None, "text": "42",
                      "nested": {"list": [1, "two", {"k": "v"}]}}
    assert ex.outputs == {"answer": 42, "stage": "prod", "data": {"list": [1, "two", {"k": "v"}]}}


def test_bad_flow_output_fails_the_execution(project: Project) -> None:
    path = project.flow_file("engine_core/bad-flow-output.yaml")
    assert project.run(path).state == "FAILED"


def test_labels_task_rejects_system_keys(project: Project) -> None:
    path = project.flow_file("engine_core/labels-system-key.yaml")
    ex = project.run(path)
    assert ex.state == "FAILED"


# -- the JSON documents -------------------------------------------------------------------------------------
EXECUTION_KEYS = {"id", "namespace", "flowId", "state", "startDate", "endDate", "inputs", "labels", "outputs",
                  "taskRuns", "flowRevision"}
TASKRUN_KEYS = {"id", "taskId", "parentTaskRunId", "value", "state", "startDate", "endDate", "attempts", "outputs",
                "histories"}


def test_run_json_document(project: Project) -> None:
    project.flow_file("engine_core/run-document.yaml")
    result = project.cli("run", "flows/flow.yaml", "--input", "who=Ana", "--label", "k=v", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()  # stdout is only the document: progress and logs go to stderr
    assert "hi Ana" in result.stderr
    assert set(doc) == EXECUTION_KEYS
    assert (doc["namespace"], doc["flowId"], doc["state"]) == ("t", "f", "SUCCESS")
    assert doc["inputs"] == {"who": "Ana"} and doc["outputs"] == {"out": "Ana"}
    assert {"key": "k", "value": "v"} in doc["labels"]
    assert ISO_Z.match(doc["startDate"]) and ISO_Z.match(doc["endDate"])
    assert doc["startDate"] <= doc["endDate"]
    runs = doc["taskRuns"]
    assert [(tr["taskId"], tr["value"]) for tr in runs] == [("hello", None), ("loop", None), ("inner", "a"),
                                                          ("inner", "b")]
    loop_id = runs[1]["id"]
    assert [tr["parentTaskRunId"] for tr in runs] == [None, None, loop_id, loop_id]
    for tr in runs:
        assert set(tr) == TASKRUN_KEYS
        assert tr["state"] == "SUCCESS"
        assert ISO_Z.match(tr["startDate"]) and ISO_Z.match(tr["endDate"])
        for attempt in tr["attempts"]:
            assert set(attempt) == {"state", "startDate", "endDate"}
            assert ISO_Z.match(attempt["startDate"]) and ISO_Z.match(attempt["endDate"])
    assert [len(tr["attempts"]) for tr in runs] == [1, 0, 1, 1]  # a flowable runs in the executor: no attempt
    assert runs[3]["outputs"] == {"value": "b"}

    listed = project.cli("executions", "list", "--json")
    assert listed.code == 0
    [row] = listed.json()
    assert set(row) == {"id", "namespace", "flowId", "state", "startDate", "endDate", "labels",
                        "flowRevision"}
    assert (row["id"], row["state"], row["endDate"]) == (doc["id"], "SUCCESS", doc["endDate"])

    shown = project.cli("executions", "show", doc["id"][:8], "--json").json()
    assert shown["id"] == doc["id"]
    assert [tr["id"] for tr in shown["taskRuns"]] == [tr["id"] for tr in runs]

    only = project.cli("logs", doc["id"], "--task", "hello")
    assert only.code == 0
    assert [line.split(" ", 1)[1] for line in only.stdout.splitlines()] == ["INFO  hello: hi Ana"]


def test_executions_list_filters(project: Project) -> None:
    project.flow_file("engine_core/list-ok.yaml", "ok.yaml")
    project.flow_file("engine_core/list-bad.yaml", "bad.yaml")
    for name in ("ok", "bad", "ok"):
        project.run(project.root / "flows" / f"{name}.yaml")
    rows = project.cli("executions", "list", "--json").json()
    assert [r["flowId"] for r in rows] == ["ok", "bad", "ok"]  # newest first
    assert [r["flowId"] for r in project.cli("executions", "list", "--state", "failed", "--json").json()] == ["bad"]
    assert len(project.cli("executions", "list", "--flow", "t/ok", "--json").json()) == 2
    assert len(project.cli("executions", "list", "--limit", "1", "--json").json()) == 1


# -- kv, render, purge --------------------------------------------------------------------------------------
def test_kv_cli(project: Project) -> None:
    assert project.cli("kv", "set", "t", "greeting", "hello").code == 0
    assert project.cli("kv", "set", "t", "count", "41", "--type", "NUMBER").code == 0
    assert project.cli("kv", "set", "t", "conf", '{"a": [1, 2]}', "--type", "JSON", "--ttl", "P1D").code == 0
    assert project.cli("kv", "get", "t", "greeting").stdout == "hello\n"
    assert project.cli("kv", "get", "t", "count").stdout == "41\n"
    assert project.cli("kv", "get", "t", "conf").stdout == '{"a": [1, 2]}\n'
    listed = project.cli("kv", "list", "t").stdout
    assert [line.split()[0] for line in listed.splitlines()] == ["conf", "count", "greeting"]
    assert "NUMBER" in listed and "expires=-" in listed
    assert project.cli("kv", "delete", "t", "greeting").code == 0
    missing = project.cli("kv", "get", "t", "greeting")
    assert missing.code != 0 and "greeting" in missing.stderr and "Traceback" not in missing.stderr
    assert project.cli("kv", "delete", "t", "greeting").code == 1  # a missing key exits 1
    bad = project.cli("kv", "set", "t", "n", "abc", "--type", "NUMBER")
    assert bad.code == 3 and "Traceback" not in bad.stderr

    path = project.flow_file("engine_core/kv-read.yaml")
    ex = project.run(path)
    assert ex.task_runs[0].outputs == {"value": 41} and ex.task_runs[1].outputs == {"value": "42"}


def test_render_cli(project: Project) -> None:
    context = project.cli("render", "{{ 'x_' ~ (trigger.date | date('yyyy-MM')) }}", "--context",
                          '{"trigger": {"date": "2019-01-01T09:00:00Z"}}')
    assert (context.code, context.stdout) == (0, "x_2019-01\n")
    (project.root / "ctx.json").write_text('{"items": [1, 2, 3]}')
    assert project.cli("render", "{{ items | length }}", "--context", "@ctx.json").stdout == "3\n"

    project.flow_file("engine_core/render-greeting.yaml")
    by_flow = project.cli("render", "{{ render(vars.greeting) }} {{ flow.namespace }}", "--flow", "flows/flow.yaml",
                          "--input", "name=Ana")
    assert (by_flow.code, by_flow.stdout) == (0, "Hello, Ana! t\n")

    ran = project.cli("run", "flows/flow.yaml", "--input", "name=Bo", "--json").json()
    past = project.cli("render", "{{ outputs.r.value }} / {{ inputs.name }} / {{ execution.id }}", "--execution",
                       ran["id"])
    assert (past.code, past.stdout) == (0, f"Hello, Bo! / Bo / {ran['id']}\n")

    broken = project.cli("render", "{{ nope }}", "--context", "{}")
    assert broken.code != 0 and "nope" in broken.stderr and "Traceback" not in broken.stderr


def test_purge_before(project: Project) -> None:
    path = project.flow_file("engine_core/purge-one.yaml")
    ex = project.run(path)
    storage = project.home / "storage"
    (storage / "t" / "f" / "executions" / ex.id).mkdir(parents=True, exist_ok=True)
    (storage / "t" / "f" / "executions" / ex.id / "leftover.txt").write_text("data")
    kept = project.cli("purge", "--before", "2000-01-01")
    assert kept.code == 0 and "purged 0 execution(s)" in kept.stdout
    assert len(project.cli("executions", "list", "--json").json()) == 1
    purged = project.cli("purge", "--before", "2999-01-01", "--yes")
    assert purged.code == 0 and "purged 1 execution(s)" in purged.stdout, purged.stdout + purged.stderr
    assert project.cli("executions", "list", "--json").json() == []
    assert project.cli("logs", ex.id).code == 2
    assert not (storage / "t" / "f" / "executions" / ex.id / "leftover.txt").exists()


# -- pluginDefaults (kestra-dialect.md §1.4) -----------------------------------------------------------------
def test_plugin_defaults_semantics(project: Project) -> None:
    path = project.flow_file("engine_core/plugin-defaults.yaml")
    ex = project.run(path)
    assert ex.state == "SUCCESS", [tr.error for tr in ex.task_runs]
    assert logs(project, ex.id) == [
        ("WARN", "by_prefix", "from default"), ("WARN", "by_prefix", "from task"),
        ("ERROR", "task_wins", "from default"), ("ERROR", "task_wins", "own"),
        ("WARN", "legacy_alias", "from default"), ("WARN", "legacy_alias", "old name"),
    ]
    assert ex.task_runs[2].outputs == {"value": "forced"}


def test_unknown_property_in_task_is_an_error_even_with_defaults(project: Project) -> None:
    project.flow_file("engine_core/unknown-property-with-defaults.yaml")
    result = project.cli("validate", "flows/flow.yaml")
    assert result.code == 3
    assert "task `a`: unknown property 'notAProperty'" in result.stderr
    assert result.stderr.count("notAProperty'") == 1


def test_global_plugin_defaults_from_config(project: Project) -> None:
    project.config("""\
pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: DEBUG
  - type: io.kestra.plugin.core.debug
    forced: true
    values:
      format: global forced
globals:
  team: data
""")
    path = project.flow_file("engine_core/global-plugin-defaults.yaml")
    ex = project.run(path)
    assert logs(project, ex.id) == [("WARN", "a", "data")]  # the flow's entry comes before the global one
    assert ex.task_runs[1].outputs == {"value": "global forced"}


# -- project root, state dir, flow references --------------------------------------------------------------
def _cli_in(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "FLOWRUN_HOME"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=60)


def test_root_discovery_and_home_precedence(project: Project, tmp_path: Path) -> None:
    project.flow_file("engine_core/deep.yaml", "team/deep.yaml")
    nested = project.root / "src" / "pkg"
    nested.mkdir(parents=True)

    # default: <root>/.flowrun, found from a nested dir, flow named by NAMESPACE/FLOW_ID
    run = _cli_in(nested, "run", "a.b/deep")
    assert run.returncode == 0, run.stderr
    assert (project.root / ".flowrun" / "state.db").is_file()

    # flowrun.yaml home beats the default
    project.config("home: state-from-config\n")
    assert _cli_in(nested, "run", "a.b/deep").returncode == 0
    assert (project.root / "state-from-config" / "state.db").is_file()

    # FLOWRUN_HOME beats flowrun.yaml
    env_home = tmp_path / "env-home"
    assert _cli_in(nested, "run", "a.b/deep", env={"FLOWRUN_HOME": str(env_home)}).returncode == 0
    assert (env_home / "state.db").is_file()

    # --home beats FLOWRUN_HOME
    flag_home = tmp_path / "flag-home"
    result = _cli_in(nested, "run", "a.b/deep", "--home", str(flag_home), env={"FLOWRUN_HOME": str(env_home)})
    assert result.returncode == 0
    assert (flag_home / "state.db").is_file()

    counts = {home: len(_cli_in(nested, "executions", "list", "--json", "--home", str(home)).stdout.split('"id"'))
              - 1 for home in (project.root / ".flowrun", project.root / "state-from-config", env_home, flag_home)}
    assert list(counts.values()) == [1, 1, 1, 1]

    # a flow file path: the root is found from the file, not from the cwd
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_path = _cli_in(elsewhere, "run", str(project.root / "flows" / "team" / "deep.yaml"))
    assert by_path.returncode == 0, by_path.stderr
    listed = _cli_in(project.root, "executions", "list", "--json", "--home", str(project.root / "state-from-config"))
    assert len(listed.stdout.split('"id"')) - 1 == 2


# -- help ---------------------------------------------------------------------------------------------------
COMMANDS = [(), ("run",), ("validate",), ("executions",), ("executions", "list"), ("executions", "show"),
            ("logs",), ("kv",), ("kv", "list"), ("kv", "get"), ("kv", "set"), ("kv", "delete"), ("render",),
            ("purge",)]


def test_python_m_flowrun_help() -> None:
    result = subprocess.run([sys.executable, "-m", "flowrun", "--help"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0
    for command in ("run", "validate", "executions", "logs", "kv", "render", "purge"):
        assert re.search(rf"^\s+│?\s*{command}\b", result.stdout, re.M), result.stdout


def test_every_command_help_has_an_example() -> None:
    from typer.testing import CliRunner

    from flowrun.cli import app

    runner = CliRunner()
    missing = []
    for command in COMMANDS:
        if not command or command in (("executions",), ("kv",)):
            continue
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        if "Example" not in result.output:
            missing.append(" ".join(command))
    assert missing == []


@pytest.mark.parametrize("group", ["executions", "kv"])
def test_group_help_lists_subcommands(group: str) -> None:
    from typer.testing import CliRunner

    from flowrun.cli import app

    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0
    assert "list" in result.output
