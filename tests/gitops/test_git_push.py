"""PushFlows and PushNamespaceFiles against real git remotes: commits, deletions, dry runs, auth, rejections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from git_fixture import GitHttpServer, Remote, remote
from test_git_flows import flow_text
from test_git_sync import TOKEN, diff_rows, logs, run

from flowrun.gitops.push import commit_and_push, http_url_of, open_branch, stage
from flowrun.gitops.push import diff_rows as kestra_diff
from flowrun.gitops.remote import GitError, GitSession

__all__ = ["remote"]
PUSH_FILES = "io.kestra.plugin.git.PushNamespaceFiles"
PUSH_FLOWS = "io.kestra.plugin.git.PushFlows"


def push_flow(type_: str, props: dict[str, Any], namespace: str = "dev") -> str:
    lines = [f"    {key}: {json.dumps(value)}" for key, value in props.items()]
    return "\n".join(["id: push", f"namespace: {namespace}", "tasks:", "  - id: push", f"    type: {type_}",
                      *lines]) + "\n"


def ns_write(project: Project, files: dict[str, str | None], namespace: str = "dev") -> None:
    base = project.root / "namespace_files" / namespace
    for rel, text in files.items():
        path = base / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_push_namespace_files_commits_them_and_reports_the_diff(project: Project, remote: Remote) -> None:
    ns_write(project, {"etl.py": "print(1)\nprint(2)\n", "sql/q.sql": "select 1\n"})
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url}), "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    out = runs["push"].outputs
    assert remote.files() == ["_files/etl.py", "_files/sql/q.sql"]
    assert out["commitId"] == remote.head() and out["commitURL"] == f"{remote.url}/commit/{remote.head()}"
    assert remote.log()[0].endswith("|Add files from dev namespace")
    assert diff_rows(project, out["files"]) == [
        {"file": "_files/etl.py", "additions": "+2", "deletions": "-0", "changes": "0"},
        {"file": "_files/sql/q.sql", "additions": "+1", "deletions": "-0", "changes": "0"}]
    assert "Branch main does not exist, creating it" in logs(project, execution)


def test_a_second_push_updates_deletes_and_skips_when_nothing_changed(project: Project, remote: Remote) -> None:
    remote.commit({"README.md": "kept: not under _files"})
    ns_write(project, {"a.txt": "one\n", "b.txt": "b\n"})
    assert run(project, push_flow(PUSH_FILES, {"url": remote.url}), "push.yml")[0].state == "SUCCESS"
    ns_write(project, {"a.txt": "two\n", "b.txt": None})
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url, "commitMessage": "sync {{ flow.id }}",
                                                          "authorName": "Ana", "authorEmail": "ana@example.com"}),
                          "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    assert remote.files() == ["README.md", "_files/a.txt"] and remote.show("_files/a.txt") == "two\n"
    assert remote.log()[0] == "Ana <ana@example.com>|sync push"
    rows = {row["file"]: row for row in diff_rows(project, runs["push"].outputs["files"])}
    assert rows["_files/a.txt"]["changes"] == "1" and rows["_files/b.txt"]["deletions"] == "-1"
    head = remote.head()
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url}), "push.yml")
    assert execution.state == "SUCCESS" and runs["push"].outputs["commitId"] is None and remote.head() == head
    assert "No changes to commit. Skipping push." in logs(project, execution)


def test_dry_run_pushes_nothing_and_globs_select_files(project: Project, remote: Remote) -> None:
    remote.commit({"_files/old.py": "x"})
    ns_write(project, {"q.sql": "select 1\n", "x.py": "print()\n"})
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url, "dryRun": True}), "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    assert remote.files() == ["_files/old.py"] and runs["push"].outputs["commitId"] is None
    assert {row["file"] for row in diff_rows(project, runs["push"].outputs["files"])} == {
        "_files/old.py", "_files/q.sql", "_files/x.py"}
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url, "files": ["*.sql"]}), "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    assert remote.files() == ["_files/old.py", "_files/q.sql"]  # only .sql files are in the selection
    execution, runs = run(project, push_flow(PUSH_FILES, {"url": remote.url, "files": "*.txt",
                                                          "errorOnMissing": True}), "push.yml")
    assert execution.state == "FAILED" and "No Namespace Files matched" in runs["push"].error


def test_push_flows_of_a_namespace_and_its_children_into_a_new_branch(project: Project, remote: Remote) -> None:
    remote.commit({"README.md": "main"})
    project.flow(flow_text("load", "dev"), "load.yaml")
    project.flow(flow_text("crm", "dev.marketing").replace("tasks:", "revision: 4\ntasks:"), "m/crm.yaml")
    project.flow(flow_text("skip_me", "dev"), "skip.yaml")
    project.flow(flow_text("other", "prod"), "other.yaml")
    props = {"url": remote.url, "branch": "release", "targetNamespace": "prod", "includeChildNamespaces": True,
             "flows": ["load", "crm"], "gitDirectory": "flows"}
    execution, runs = run(project, push_flow(PUSH_FLOWS, props), "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    assert remote.files("release") == ["README.md", "flows/load.yml", "flows/marketing/crm.yml"]
    assert remote.show("flows/load.yml", "release") == flow_text("load", "prod")
    assert remote.show("flows/marketing/crm.yml", "release") == flow_text("crm", "prod.marketing")
    assert remote.log("release")[0].endswith("|Add flows from dev namespace")
    assert remote.files() == ["README.md"]
    assert runs["push"].outputs["commitId"] == remote.head("release")


def test_push_over_http_with_credentials_and_a_refused_one_masked(project: Project, tmp_path: Path) -> None:
    served = Remote(tmp_path / "served")
    ns_write(project, {"a.txt": "a\n"})
    with GitHttpServer(tmp_path / "served", credentials=("ana", TOKEN)) as server:
        ok, runs = run(project, push_flow(PUSH_FILES, {"url": server.url("repo.git"), "username": "ana",
                                                       "password": TOKEN}), "push.yml")
        assert ok.state == "SUCCESS", runs["push"].error
        assert served.files() == ["_files/a.txt"]
        bad, runs = run(project, push_flow(PUSH_FILES, {"url": server.url("repo.git"), "username": "ana",
                                                        "password": "wrong-" + TOKEN}), "bad.yml")
    assert bad.state == "FAILED" and "refused the credentials" in runs["push"].error
    for execution in (ok, bad):
        assert TOKEN not in json.dumps(execution.to_json(), default=str) + logs(project, execution)


def test_a_push_onto_a_branch_that_moved_is_rejected(tmp_path: Path, remote: Remote) -> None:
    """The clone is made, then someone else pushes: git refuses the non-fast-forward push."""
    remote.commit({"a.txt": "1"})
    with GitSession(remote.url) as session:
        checkout = tmp_path / "checkout"
        assert open_branch(session, "main", checkout)
        (checkout / "mine.txt").write_text("mine")
        stage(session, checkout, ".")
        remote.commit({"theirs.txt": "theirs"})
        with pytest.raises(GitError) as caught:
            commit_and_push(session, checkout, "main", "mine", None, False, lambda _: None)
    assert "rejected the push" in caught.value.message and "non-fast-forward" in caught.value.hint
    assert remote.files() == ["a.txt", "theirs.txt"]


def test_kestra_diff_counts_and_browsable_urls() -> None:
    patch = ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n@@ -5,0 +6,2 @@\n+c\n+d\n"
             "diff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-1\n-2\n-3\n")
    assert kestra_diff(patch) == [{"file": "x", "additions": "+2", "deletions": "-0", "changes": "1"},
                                  {"file": "gone", "additions": "+0", "deletions": "-3", "changes": "0"}]
    assert http_url_of("git@github.com:org/repo.git") == "https://github.com/org/repo.git"
    assert http_url_of("https://ana:tok@github.com/org/repo") == "https://github.com/org/repo"
