"""dbt tasks: a real dbt (one shared venv) on the test Postgres; nodes as child task runs, logs, manifest, failures."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from dbt_harness import DBT, FAIL_TEST, WARN_TEST, link_dbt_venv, postgres_profile, write_mini_project
from pg_fixture import PgDatabase

from flowrun.dbt import adapters, logs, profiles
from flowrun.tasks.dbt import _dbt_flags
from flowrun.tasks.registry import task_class

LEGACY = ("Build", "Run", "Test", "Seed", "Snapshot", "Compile", "Deps", "Freshness", "List")


# -- pure parts ------------------------------------------------------------------------------------
def test_every_dbt_type_is_registered_with_docs() -> None:
    for name in ("DbtCLI", *LEGACY):
        cls = task_class(f"{DBT}.{name}")
        assert cls.__doc__ and cls.__name__ == name


def test_adapter_from_profile_type_or_image_with_default_pins() -> None:
    assert adapters.image_adapter("ghcr.io/kestra-io/dbt-postgres:latest") == "postgres"
    assert adapters.image_adapter("ghcr.io/kestra-io/dbt-bigquery") == "bigquery"
    assert adapters.image_adapter("ghcr.io/kestra-io/dbt:latest") is None
    assert adapters.image_adapter("python:3.11-slim") is None
    assert adapters.requirements(["postgres"], []) == ("dbt-core>=1.11,<1.12", "dbt-postgres>=1.11,<1.12")
    assert adapters.requirements(["snowflake"], []) == ("dbt-core>=1.11,<1.12", "dbt-snowflake")
    pinned = adapters.requirements(["duckdb"], ["dbt-core==1.10.15", "dbt-duckdb==1.10.0", "pandas"])
    assert pinned == ("dbt-core==1.10.15", "dbt-duckdb==1.10.0", "pandas")
    doc = profiles.parse_profiles("config: {send_anonymous_usage_stats: false}\n"
                                  "p:\n  outputs:\n    a: {type: postgres}\n    b: {type: DuckDB}\n")
    assert profiles.adapter_types(doc) == ["duckdb", "postgres"]


def test_docker_host_and_bigquery_emulator_rewrites() -> None:
    text = textwrap.dedent("""\
        default:
          outputs:
            dev: {type: postgres, host: host.docker.internal, port: 5432}
            bq: {type: bigquery, method: service-account, keyfile: sa.json, project: p, dataset: d}
          target: dev
        """)
    local = profiles.localize(text, "http://127.0.0.1:9050")
    out = profiles.parse_profiles(local.text)
    assert out is not None
    assert out["default"]["outputs"]["dev"]["host"] == "127.0.0.1"
    bq = out["default"]["outputs"]["bq"]
    assert bq == {"type": "bigquery", "method": "oauth-secrets", "project": "p", "dataset": "d",
                  "api_endpoint": "http://127.0.0.1:9050", "token": profiles.EMULATOR_TOKEN}
    assert len(local.notes) == 2 and "service-account replaced by oauth-secrets" in local.notes[1]
    assert profiles.localize(text.replace("host.docker.internal", "db"), None).text == text.replace(
        "host.docker.internal", "db")  # nothing to change: written byte for byte


def test_json_log_lines_keep_level_and_node() -> None:
    line = json.dumps({"data": {"node_info": {"unique_id": "model.p.m", "node_status": "success",
                                              "node_started_at": "2026-01-01T10:00:00.5",
                                              "node_finished_at": "2026-01-01T10:00:01"}},
                       "info": {"level": "warn", "msg": "\x1b[33mWARNING\x1b[0m careful", "name": "X"}})
    parsed = logs.parse_line(line)
    assert parsed is not None and parsed.level == "WARN" and parsed.message == "WARNING careful"
    assert parsed.node is not None and parsed.node.unique_id == "model.p.m"
    assert parsed.node.started_at is not None and parsed.node.started_at.tzinfo is not None
    assert logs.parse_line("plain text") is None
    assert logs.parse_line('{"a": 1}') is None


def test_kestra_flags_are_added_to_dbt_lines_only() -> None:
    assert _dbt_flags("dbt build", "", "JSON") == "dbt build --log-format json --log-path logs"
    assert _dbt_flags("dbt run --log-format text", "dbt", "JSON") == \
        "dbt run --log-format text --project-dir dbt --log-path logs"
    assert _dbt_flags("dbt deps", "", "NONE") == "dbt deps --log-path logs"
    assert _dbt_flags("echo dbt", "x", "JSON") == "echo dbt"
    assert _dbt_flags("dbtx", "x", "JSON") == "dbtx"


def test_legacy_task_properties_become_dbt_flags(tmp_path: Path) -> None:
    from script_harness import HarnessContext

    task = task_class(f"{DBT}.Build").model_validate({
        "id": "b", "type": f"{DBT}.Build", "projectDir": "dbt", "select": ["tag:nightly", "my_model+"],
        "exclude": "legacy", "target": "prod", "thread": 4, "fullRefresh": True, "failFast": True,
        "selector": "daily"})
    command = task.main_commands(HarnessContext(tmp_path), {"workingDir": str(tmp_path)}, [])
    assert command == [f"dbt --log-format json --fail-fast build --profiles-dir {tmp_path}/.profile --threads 4 "
                       "--full-refresh --target prod --selector daily --select tag:nightly my_model+ "
                       f"--exclude legacy --project-dir {tmp_path}/dbt"]
    freshness = task_class(f"{DBT}.Freshness").model_validate({"id": "f", "type": f"{DBT}.Freshness",
                                                                "dbtPath": "/usr/local/bin/dbt"})
    assert freshness.main_commands(HarnessContext(tmp_path), {"workingDir": "/w"}, []) == [
        "dbt --log-format json source freshness --profiles-dir /w/.profile --project-dir /w"]


def test_unsupported_engine_is_rejected_when_the_flow_loads(project: Project) -> None:
    flow = project.flow(f"""
        id: f
        namespace: t
        tasks:
          - id: d
            type: {DBT}.DbtCLI
            engine: FUSION
            commands: [dbt build]
        """)
    done = project.cli("validate", str(flow))
    assert done.code == 3
    assert "engine FUSION is not supported" in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_dependencies_from_flowrun_yaml_keep_the_flow_kestra_valid(project: Project) -> None:
    project.config(f"""
        pluginDefaults:
          - type: {DBT}
            values:
              dependencies: ["dbt-core==1.10.15", "dbt-duckdb==1.10.0"]
        """)
    flow = project.flow(f"""
        id: f
        namespace: t
        tasks:
          - id: d
            type: {DBT}.DbtCLI
            commands: [dbt build]
          - id: b
            type: {DBT}.Build
        """)
    done = project.cli("validate", str(flow))
    assert done.code == 0 and f"ok  {flow}" in done.stdout, done.stderr
    from flowrun.app.flows import load_flow_ref

    tasks = load_flow_ref(str(flow), str(project.home)).tasks
    assert [t.dependencies for t in tasks] == [["dbt-core==1.10.15", "dbt-duckdb==1.10.0"]] * 2


# -- a real dbt ------------------------------------------------------------------------------------
def _dbt_flow(project: Project, db: PgDatabase, schema: str, commands: list[str]) -> Path:
    task = {"id": "build", "type": f"{DBT}.DbtCLI", "namespaceFiles": {"enabled": True},
            "containerImage": "ghcr.io/kestra-io/dbt-postgres:latest", "commands": commands,
            "storeManifest": {"key": "manifest.json", "namespace": "{{ flow.namespace }}"},
            "profiles": postgres_profile(db.name, schema)}
    return _write_flow(project, "mini", [task])


def _write_flow(project: Project, flow_id: str, tasks: list[dict[str, Any]]) -> Path:
    import yaml

    path = project.root / "flows" / f"{flow_id}.yaml"
    path.write_text(yaml.safe_dump({"id": flow_id, "namespace": "dbt.test", "tasks": tasks}, sort_keys=False))
    return path


def _setup(project: Project, *extra: tuple[str, str]) -> None:
    write_mini_project(project.root / "namespace_files" / "dbt.test", *extra)
    link_dbt_venv(project.home)


def _runs(doc: dict[str, Any], parent: str) -> dict[str, dict[str, Any]]:
    parent_id = next(t["id"] for t in doc["taskRuns"] if t["taskId"] == parent)
    return {t["taskId"]: t for t in doc["taskRuns"] if t["parentTaskRunId"] == parent_id}


def test_dbt_build_nodes_are_child_task_runs(project: Project, pg_db: PgDatabase) -> None:
    _setup(project, WARN_TEST)
    flow = _dbt_flow(project, pg_db, "mini", ["dbt build"])
    # a DBT_PROFILES_DIR in the user's shell does not hide the task's own profile
    done = project.cli("run", str(flow), "--json", timeout=300, env={"DBT_PROFILES_DIR": str(project.root)})
    assert done.stdout, done.stderr[-3000:]
    doc = done.json()
    assert done.code == 0 and doc["state"] == "WARNING", done.stderr[-3000:]
    nodes = _runs(doc, "build")
    states = {name.split(".")[0] + "." + name.split(".")[2]: t["state"] for name, t in nodes.items()}
    assert states == {"seed.people": "SUCCESS", "model.adults": "SUCCESS", "test.unique_adults_id": "SUCCESS",
                      "test.not_null_adults_id": "SUCCESS", "test.few_adults": "WARNING"}
    model = nodes["model.mini.adults"]
    assert model["outputs"]["status"] == "success" and model["outputs"]["rowsAffected"] == 2
    assert model["startDate"] <= model["endDate"] and model["attempts"][0]["state"] == "SUCCESS"
    warned = nodes["test.mini.few_adults"]
    assert warned["outputs"]["failures"] == 2 and "Got 2 results" in warned["outputs"]["message"]
    build = next(t for t in doc["taskRuns"] if t["taskId"] == "build")
    assert [n["uniqueId"] for n in build["outputs"]["nodes"]] == list(nodes)
    assert set(build["outputs"]["outputFiles"]) == {"manifest.json", "run_results.json"}
    assert pg_db.scalar("SELECT count(*) FROM mini.adults") == 2
    # the live view (plain, as on a pipe) printed each node as it finished, and dbt's lines kept their levels
    assert "  SUCCESS  model.mini.adults (" in done.stderr and "  WARNING  test.mini.few_adults" in done.stderr
    assert "    INFO  build: Done. PASS=4 WARN=1" in done.stderr
    assert "so the task ends WARNING as in Kestra" in done.stderr
    kv = project.cli("kv", "get", "dbt.test", "manifest.json")
    assert json.loads(kv.stdout)["nodes"]["model.mini.adults"]["name"] == "adults"
    shown = project.cli("executions", "show", doc["id"]).stdout
    assert "\n  WARNING   build " in shown and "\n  SUCCESS     model.mini.adults " in shown  # nodes nested
    assert "\n  WARNING     test.mini.few_adults " in shown
    node_logs = project.cli("logs", doc["id"], "--task", "test.mini.few_adults").stdout
    assert "WARN  test.mini.few_adults: warn in " in node_logs and "Got 2 results" in node_logs


def test_failing_node_fails_the_task_with_its_message(project: Project, pg_db: PgDatabase) -> None:
    _setup(project, FAIL_TEST)
    flow = _dbt_flow(project, pg_db, "fails", ["dbt build"])
    execution = project.run(flow)
    assert execution.state == "FAILED"
    build = next(t for t in execution.task_runs if t.task_id == "build")
    assert build.error is not None and build.error.startswith(
        "dbt failed with exit code 1: 1 node failed: test.mini.no_low_scores (fail: Got 1 result")
    children = {t.task_id: t for t in execution.task_runs if t.parent_id == build.id}
    failed = children["test.mini.no_low_scores"]
    assert failed.state == "FAILED" and failed.error == "Got 1 result, configured to fail if != 0"
    assert children["model.mini.adults"].state == "SKIPPED"  # downstream of the failed test
    assert build.outputs["exitCode"] == 1 and "run_results.json" in build.outputs["outputFiles"]
    assert project.cli("kv", "get", "dbt.test", "manifest.json").code == 0  # stored on failure too, as in Kestra


@pytest.mark.slow
def test_docker_host_in_profile_and_legacy_tasks(project: Project, pg_db: PgDatabase) -> None:
    _setup(project)
    profile = postgres_profile(pg_db.name, "legacy", host="host.docker.internal")
    flow = _write_flow(project, "legacy", [
        {"id": "debug", "type": f"{DBT}.DbtCLI", "namespaceFiles": {"enabled": True},
         "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker", "networkMode": "host"},
         "containerImage": "ghcr.io/kestra-io/dbt-postgres:latest",
         "commands": ["dbt debug", "grep -c host.docker.internal profiles.yml || true"], "profiles": profile},
        {"id": "seed", "type": f"{DBT}.Seed", "namespaceFiles": {"enabled": True}, "runner": "DOCKER",
         "dbtPath": "/usr/local/bin/dbt", "dockerOptions": {"image": "ghcr.io/kestra-io/dbt-postgres:latest"},
         "profiles": profile}])
    execution = project.run(flow)
    from flowrun.app.inspect import execution_logs

    lines = [(r["task_id"], r["level"], r["message"]) for r in execution_logs(str(project.home), execution.id)]
    assert execution.state in ("SUCCESS", "WARNING"), lines[-30:]
    assert ("debug", "INFO", "  Connection test: [OK connection ok]") in lines
    assert ("debug", "INFO", "0") in lines  # the profile written holds no Docker host name
    assert any(t == "debug" and "host `host.docker.internal` is Docker's name for this machine" in m
               for t, _, m in lines)
    docker_warnings = [m for t, lv, m in lines if t == "debug" and lv == "WARN" and "no Docker engine" in m]
    assert len(docker_warnings) == 1
    assert pg_db.scalar("SELECT count(*) FROM legacy.people") == 3
    seed = next(t for t in execution.task_runs if t.task_id == "seed")
    children = [t for t in execution.task_runs if t.parent_id == seed.id]
    assert [(t.task_id, t.state) for t in children] == [("seed.mini.people", "SUCCESS")]


def test_no_adapter_to_install_is_one_clear_line(project: Project) -> None:
    flow = project.flow(f"""
        id: none
        namespace: dbt.test
        tasks:
          - id: d
            type: {DBT}.DbtCLI
            commands: [dbt build]
        """)
    execution = project.run(flow)
    run = next(t for t in execution.task_runs if t.task_id == "d")
    assert execution.state == "FAILED"
    assert run.error is not None and run.error.startswith("no dbt adapter to install: the profile names no adapter")


def test_load_manifest_puts_it_back_before_the_commands(project: Project) -> None:
    link_dbt_venv(project.home)
    project.cli("kv", "set", "dbt.test", "manifest.json", '{"metadata": {"dbt_version": "1.11.0"}}',
                "--type", "JSON")
    flow = project.flow(f"""
        id: load
        namespace: dbt.test
        tasks:
          - id: d
            type: {DBT}.DbtCLI
            projectDir: proj
            loadManifest: {{key: manifest.json, namespace: dbt.test}}
            containerImage: ghcr.io/kestra-io/dbt-postgres
            commands: ["cat proj/target/manifest.json; echo", "command -v dbt"]
        """)
    execution = project.run(flow)
    from flowrun.app.inspect import execution_logs

    messages = [r["message"] for r in execution_logs(str(project.home), execution.id)]
    assert execution.state == "SUCCESS", messages
    assert '{"metadata": {"dbt_version": "1.11.0"}}' in messages
    assert str(project.home / "venvs") + "/" in next(m for m in messages if m.endswith("/bin/dbt"))
