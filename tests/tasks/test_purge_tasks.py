"""Kestra's purge tasks in flows: PurgeExecutions, PurgeLogs and PurgeKV, with their properties and outputs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import Project
from purge_harness import add_file, age, days_ago, execution_ids, log_count, run, small_flow, states_by_id

from flowrun.app.inspect import execution_logs
from flowrun.errors import ExitCode
from flowrun.state.db import Database
from flowrun.storage.kv import KVStore

PURGE_EXECUTIONS = "io.kestra.plugin.core.execution.PurgeExecutions"
PURGE_LOGS = "io.kestra.plugin.core.log.PurgeLogs"
PURGE_KV = "io.kestra.plugin.core.kv.PurgeKV"


def system_flow(project: Project, task_type: str, properties: str, flow_id: str = "purger") -> Any:
    """Run a flow of namespace `system` whose one task `purge` has these (already indented) properties."""
    path = project.flow(f"id: {flow_id}\nnamespace: system\ntasks:\n  - id: purge\n    type: {task_type}\n"
                        f"{properties}", f"{flow_id}.yaml")
    execution = run(project, path)
    [taskrun] = [tr for tr in execution.task_runs if tr.task_id == "purge"]
    return execution, taskrun


def old_runs(project: Project, namespace: str, flow_id: str, count: int, days: float, fail: bool = False) -> list:
    path = small_flow(project, flow_id, namespace, fail=fail)
    made = []
    for _ in range(count):
        execution = run(project, path)
        age(project, execution.id, days_ago(days))
        made.append(execution.id)
    return made


# -- PurgeExecutions -------------------------------------------------------------------------------------------
def test_purge_executions_task_with_its_outputs(project: Project) -> None:
    old = old_runs(project, "co.team", "etl", 2, 40)
    fresh = old_runs(project, "co.team", "etl", 1, 1)
    failed = old_runs(project, "co", "broken", 1, 40, fail=True)
    elsewhere = old_runs(project, "cobalt", "etl", 1, 40)
    files = [add_file(project, "co.team", "etl", execution_id) for execution_id in old]
    execution, taskrun = system_flow(project, PURGE_EXECUTIONS, """\
    namespace: co
    endDate: "{{ now() | dateAdd(-30, 'DAYS') }}"
    states: [SUCCESS, WARNING]
""")
    assert execution.state == "SUCCESS", taskrun.error
    assert taskrun.outputs == {"executionsCount": 2, "taskOutputsCount": 2, "logsCount": 4, "storagesCount": 2,
                               "metricsCount": 4}
    assert execution_ids(project) == {*fresh, *failed, *elsewhere, execution.id}
    assert not any(file.exists() for file in files)


def test_purge_executions_flags_keep_logs_and_files(project: Project) -> None:
    [old] = old_runs(project, "co", "etl", 1, 3)
    file = add_file(project, "co", "etl", old)
    execution, taskrun = system_flow(project, PURGE_EXECUTIONS, """\
    namespace: co
    flowId: etl
    startDate: "2020-01-01T00:00:00Z"
    endDate: "{{ now() }}"
    purgeLog: false
    purgeStorage: "{{ 1 == 2 }}"
""")
    assert taskrun.outputs["executionsCount"] == 1 and taskrun.outputs["logsCount"] == 0, taskrun.error
    assert taskrun.outputs["storagesCount"] == 0 and file.exists()
    assert old not in execution_ids(project) and log_count(project, old) == 2  # Kestra's purgeLog: false


def test_purge_executions_task_never_purges_unfinished_ones(project: Project) -> None:
    paused = run(project, project.flow("""
        id: approval
        namespace: co
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
        """, "approval.yaml"))
    assert paused.state == "PAUSED"
    with sqlite3.connect(project.home / "state.db") as conn:
        conn.execute("UPDATE executions SET created_at = '2000-01-01T00:00:00.000000Z', start_date = "
                     "'2000-01-01T00:00:00.000000Z' WHERE id = ?", (paused.id,))
    execution, taskrun = system_flow(project, PURGE_EXECUTIONS, """\
    endDate: "2999-01-01T00:00:00Z"
    states: [PAUSED, RUNNING, QUEUED]
""")
    assert execution.state == "SUCCESS", taskrun.error
    assert taskrun.outputs["executionsCount"] == 0
    assert states_by_id(project)[paused.id] == "PAUSED"
    again, everything = system_flow(project, PURGE_EXECUTIONS, '    endDate: "2999-01-01T00:00:00Z"\n', "again")
    assert everything.outputs["executionsCount"] == 1  # the first purger run; neither PAUSED nor itself
    assert states_by_id(project) == {paused.id: "PAUSED", again.id: "SUCCESS"}


def test_purge_executions_bad_date_fails_the_task(project: Project) -> None:
    execution, taskrun = system_flow(project, PURGE_EXECUTIONS, "    endDate: last week\n")
    assert execution.state == "FAILED"
    assert "`endDate`: `last week` is not an ISO date, date-time or duration" in (taskrun.error or "")


# -- PurgeLogs -----------------------------------------------------------------------------------------------
def test_purge_logs_task_filters_and_count(project: Project) -> None:
    first, second = old_runs(project, "co", "etl", 2, 5)
    [other] = old_runs(project, "cobalt", "etl", 1, 5)
    [fresh] = old_runs(project, "co", "etl", 1, 0)
    execution, taskrun = system_flow(project, PURGE_LOGS, f"""\
    namespace: co
    flowId: etl
    executionId: {first}
    logLevels: [INFO]
    endDate: "{{{{ now() | dateAdd(-1, 'DAYS') }}}}"
""")
    assert taskrun.outputs == {"count": 1, "executionLogsCount": 1, "nonExecutionLogsCount": 0}, taskrun.error
    assert [line["level"] for line in execution_logs(str(project.home), first)] == ["ERROR"]

    _, by_namespace = system_flow(project, PURGE_LOGS, """\
    namespace: co
    startDate: "2000-01-01T00:00:00Z"
    endDate: "{{ now() | dateAdd(-1, 'DAYS') }}"
""", "again")
    assert by_namespace.outputs["count"] == 3  # first's ERROR line and second's two; not cobalt, not fresh
    assert (log_count(project, first), log_count(project, second)) == (0, 0)
    assert (log_count(project, other), log_count(project, fresh)) == (2, 2)
    assert execution.state == "SUCCESS"


def test_purge_logs_keeps_logs_of_running_executions(project: Project) -> None:
    path = project.flow(f"""
        id: self
        namespace: system
        tasks:
          - id: first
            type: io.kestra.plugin.core.log.Log
            message: written before the purge
          - id: purge
            type: {PURGE_LOGS}
            endDate: "2999-01-01T00:00:00Z"
        """, "self.yaml")
    execution = run(project, path)
    [taskrun] = [tr for tr in execution.task_runs if tr.task_id == "purge"]
    assert taskrun.outputs["count"] == 0, taskrun.error
    messages = [line["message"] for line in execution_logs(str(project.home), execution.id)]
    assert "written before the purge" in messages and "purged 0 log line(s)" in messages


# -- PurgeKV -------------------------------------------------------------------------------------------------
def kv_fixture(project: Project) -> KVStore:
    run(project, small_flow(project, "seed", "co"))  # creates the state DB
    db = Database(project.home / "state.db")
    past = KVStore(db, clock=lambda: datetime.now(UTC) - timedelta(days=2))
    for namespace in ("co", "co.team", "cobalt"):
        past.set(namespace, "AI_old", "x", ttl="PT1H")  # expired a day ago
        past.set(namespace, "other_old", "x", ttl="PT1H")
        past.set(namespace, "AI_kept", "x")  # no ttl: never expires
    return KVStore(db)


def remaining(store: KVStore) -> dict[str, list[str]]:
    rows = store.db.query("SELECT namespace, key FROM kv ORDER BY namespace, key")
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["namespace"], []).append(row["key"])
    return found


def test_purge_kv_expired_only_with_child_namespaces(project: Project) -> None:
    store = kv_fixture(project)
    execution, taskrun = system_flow(project, PURGE_KV, "    namespaces: [co]\n    keyPattern: AI_*\n")
    assert execution.state == "SUCCESS" and taskrun.outputs == {"size": 2}, taskrun.error
    assert remaining(store) == {"co": ["AI_kept", "other_old"], "co.team": ["AI_kept", "other_old"],
                                "cobalt": ["AI_kept", "AI_old", "other_old"]}


def test_purge_kv_patterns_behavior_and_children(project: Project) -> None:
    store = kv_fixture(project)
    _, no_children = system_flow(project, PURGE_KV, """\
    namespaces: co
    includeChildNamespaces: false
    behavior:
      type: key
      expiredOnly: false
""")
    assert no_children.outputs == {"size": 3}, no_children.error
    assert "co" not in remaining(store)
    _, by_pattern = system_flow(project, PURGE_KV, "    namespacePattern: co*\n    keyPattern: '??????old'\n", "two")
    assert by_pattern.outputs == {"size": 2}  # other_old of co.team and cobalt
    _, deprecated = system_flow(project, PURGE_KV, "    expiredOnly: true\n", "three")
    assert deprecated.outputs == {"size": 2}  # the expired AI_old of co.team and cobalt
    assert remaining(store) == {"co.team": ["AI_kept"], "cobalt": ["AI_kept"]}


def test_purge_kv_rejects_conflicting_or_unsupported_properties(project: Project) -> None:
    kv_fixture(project)
    execution, taskrun = system_flow(project, PURGE_KV, "    namespaces: [co]\n    namespacePattern: 'c*'\n")
    assert execution.state == "FAILED"
    assert "`namespaces` and `namespacePattern` can't be used at the same time" in (taskrun.error or "")
    _, versions = system_flow(project, PURGE_KV, "    behavior:\n      type: version\n      keepAmount: 1\n", "v")
    assert "`behavior.type` `version` is not supported" in (versions.error or "")


# -- validation and registration -----------------------------------------------------------------------------
def test_purge_tasks_validate_with_kestra_names(project: Project) -> None:
    project.flow(f"""
        id: maintenance
        namespace: system
        tasks:
          - id: executions
            type: {PURGE_EXECUTIONS}
            endDate: "{{{{ now() | dateAdd(-1, 'MONTHS') }}}}"
            purgeLog: false
            batchSize: 50
          - id: legacy
            type: io.kestra.plugin.core.storage.Purge
            endDate: "{{{{ now() }}}}"
          - id: logs
            type: {PURGE_LOGS}
            endDate: "{{{{ now() | dateAdd(-1, 'MONTHS') }}}}"
            purgeNonExecutionLogs: true
          - id: kv
            type: {PURGE_KV}
            namespaces: [company]
            includeChildNamespaces: true
        """, "maintenance.yaml")
    ok = project.cli("validate", "flows/maintenance.yaml")
    assert ok.code == 0, ok.stderr
    project.flow(f"""
        id: broken
        namespace: system
        tasks:
          - id: logs
            type: {PURGE_LOGS}
            logLevels: [INFO]
        """, "broken.yaml")
    bad = project.cli("validate", "flows/broken.yaml")
    assert bad.code == ExitCode.INVALID
    assert "broken.yaml:4" in bad.stderr and "endDate" in bad.stderr and "Traceback" not in bad.stderr
