"""SyncFlows: flows from a real git remote into the project's flows/ (namespaces rewritten, validated, atomic)."""

from __future__ import annotations

import json
from typing import Any

from conftest import Project
from git_fixture import Remote, remote
from test_git_sync import diff_rows, logs, run

__all__ = ["remote"]
SYNC_FLOWS = "io.kestra.plugin.git.SyncFlows"


def flow_text(flow_id: str, namespace: str, message: str = "hi") -> str:
    return (f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: log\n"
            f"    type: io.kestra.plugin.core.log.Log\n    message: {message}\n")


def sync_flows(props: dict[str, Any], namespace: str = "prod") -> str:
    lines = [f"    {key}: {json.dumps(value)}" for key, value in props.items()]
    return "\n".join(["id: sync", f"namespace: {namespace}", "tasks:", "  - id: sync", f"    type: {SYNC_FLOWS}",
                      *lines]) + "\n"


def project_flows(project: Project) -> dict[str, str]:
    base = project.root / "flows"
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*.y*ml"))}


def test_sync_flows_rewrites_namespaces_and_reports_each_flow(project: Project, remote: Remote) -> None:
    remote.commit({"_flows/a.yml": flow_text("a", "dev"), "_flows/marketing/b.yml": flow_text("b", "dev.marketing"),
                   "_flows/notes.txt": "not a flow"})
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod",
                                               "includeChildNamespaces": True}), "sync.yml")
    assert execution.state == "SUCCESS", runs["sync"].error
    flows = project_flows(project)
    assert flows["prod/a.yml"] == flow_text("a", "prod")
    assert flows["prod.marketing/b.yml"] == flow_text("b", "prod.marketing")
    assert diff_rows(project, runs["sync"].outputs["flows"]) == [
        {"syncState": "ADDED", "gitPath": "_flows/a.yml", "flowId": "a", "namespace": "prod"},
        {"syncState": "ADDED", "gitPath": "_flows/marketing/b.yml", "flowId": "b", "namespace": "prod.marketing"}]
    assert "not synced: _flows/notes.txt" in logs(project, execution)
    ran = project.cli("run", "prod.marketing/b")
    assert ran.code == 0, ran.stderr


def test_without_child_namespaces_only_the_top_level_is_read(project: Project, remote: Remote) -> None:
    remote.commit({"_flows/a.yml": flow_text("a", "dev"), "_flows/sub/b.yml": flow_text("b", "dev.sub")})
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod"}), "sync.yml")
    assert execution.state == "SUCCESS", runs["sync"].error
    assert set(project_flows(project)) == {"sync.yml", "prod/a.yml"}


def test_existing_flows_keep_their_file_and_delete_spares_the_syncing_flow(project: Project,
                                                                          remote: Remote) -> None:
    project.flow(flow_text("a", "prod", "old"), "mine/a.yaml")
    project.flow(flow_text("same", "prod"), "same.yaml")
    project.flow(flow_text("gone", "prod"), "gone.yaml")
    project.flow(flow_text("other", "elsewhere"), "other.yaml")
    remote.commit({"_flows/a.yml": flow_text("a", "dev", "new"), "_flows/same.yml": flow_text("same", "dev")})
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod", "delete": True}),
                          "sync.yml")
    assert execution.state == "SUCCESS", runs["sync"].error
    flows = project_flows(project)
    assert flows["mine/a.yaml"] == flow_text("a", "prod", "new")
    assert set(flows) == {"mine/a.yaml", "same.yaml", "other.yaml", "sync.yml"}
    states = {row["flowId"]: row["syncState"] for row in diff_rows(project, runs["sync"].outputs["flows"])}
    assert states == {"a": "UPDATED", "same": "UNCHANGED", "gone": "DELETED"}


def test_dry_run_changes_no_flow(project: Project, remote: Remote) -> None:
    project.flow(flow_text("gone", "prod"), "gone.yaml")
    remote.commit({"_flows/a.yml": flow_text("a", "dev")})
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod", "delete": True,
                                               "dryRun": True}), "sync.yml")
    assert execution.state == "SUCCESS", runs["sync"].error
    assert set(project_flows(project)) == {"gone.yaml", "sync.yml"}
    states = {row["flowId"]: row["syncState"] for row in diff_rows(project, runs["sync"].outputs["flows"])}
    assert states == {"a": "ADDED", "gone": "DELETED"}


def test_an_invalid_flow_fails_the_sync_with_nothing_written_unless_ignored(project: Project,
                                                                            remote: Remote) -> None:
    bad = "id: bad\nnamespace: dev\ntasks:\n  - id: x\n    type: io.kestra.plugin.core.log.Log\n    mesage: typo\n"
    remote.commit({"_flows/good.yml": flow_text("good", "dev"), "_flows/bad.yml": bad})
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod"}), "sync.yml")
    assert execution.state == "FAILED"
    assert "_flows/bad.yml:6" in runs["sync"].error and "mesage" in runs["sync"].error
    assert set(project_flows(project)) == {"sync.yml"}
    execution, runs = run(project, sync_flows({"url": remote.url, "targetNamespace": "prod",
                                               "ignoreInvalidFlows": True}), "sync.yml")
    assert execution.state == "SUCCESS", runs["sync"].error
    assert set(project_flows(project)) == {"sync.yml", "prod/good.yml"}
    assert "not synced: _flows/bad.yml:6" in logs(project, execution)
