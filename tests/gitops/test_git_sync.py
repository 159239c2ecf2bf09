"""SyncNamespaceFiles and Clone against real git remotes (file://, http with basic auth, git daemon)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from gcp_emulators import GcsEmulator
from git_fixture import GitDaemon, GitHttpServer, Remote, SshServer, free_port, git, git_http, remote, ssh_key

from flowrun.app.inspect import execution_logs
from flowrun.ion import read_values
from flowrun.project import open_project
from flowrun.storage.internal import InternalStorage
from flowrun.storage.location import open_storage

__all__ = ["git_http", "remote"]
SYNC = "io.kestra.plugin.git.SyncNamespaceFiles"
CLONE = "io.kestra.plugin.git.Clone"
TOKEN = "s3cr3t-t0ken-9f8e7d"


def sync_flow(props: dict[str, Any], then: str = "") -> str:
    lines = [f"    {key}: {json.dumps(value)}" for key, value in props.items()]
    return "\n".join(["id: sync", "namespace: team.data", "tasks:", "  - id: sync", f"    type: {SYNC}",
                      *lines]) + "\n" + then


def run(project: Project, text: str, name: str = "sync.yaml") -> tuple[Any, dict[str, Any]]:
    execution = project.run(project.flow(text, name))
    return execution, {tr.task_id: tr for tr in execution.task_runs}


def diff_rows(project: Project, uri: str) -> list[dict[str, Any]]:
    return read_values(InternalStorage(project.home / "storage").local_path(uri))


def ns_files(project: Project, namespace: str = "team.data") -> dict[str, str]:
    base = project.root / "namespace_files" / namespace
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def logs(project: Project, execution: Any) -> str:
    return "\n".join(line["message"] for line in execution_logs(str(project.home), execution.id))


# -- SyncNamespaceFiles ---------------------------------------------------------------------------------
def test_sync_writes_the_git_directory_into_the_namespace_and_reports_each_file(project: Project,
                                                                                 remote: Remote) -> None:
    remote.commit({"dbt/models/a.sql": "select 1", "dbt/dbt_project.yml": "name: x\n", "README.md": "top"})
    execution, runs = run(project, sync_flow({"url": remote.url, "gitDirectory": "dbt"}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert ns_files(project) == {"dbt_project.yml": "name: x\n", "models/a.sql": "select 1"}
    rows = diff_rows(project, runs["sync"].outputs["files"])
    assert rows == [{"syncState": "ADDED", "kestraPath": "/dbt_project.yml", "gitPath": "dbt/dbt_project.yml"},
                    {"syncState": "ADDED", "kestraPath": "/models/a.sql", "gitPath": "dbt/models/a.sql"}]
    assert "+ models/a.sql" in logs(project, execution)


def test_resync_overwrites_changed_files_and_keeps_the_others_unless_delete(project: Project,
                                                                              remote: Remote) -> None:
    remote.commit({"_files/a.txt": "a1", "_files/b.txt": "b1", "_files/c.txt": "c1"})
    assert run(project, sync_flow({"url": remote.url}))[0].state == "SUCCESS"
    remote.commit({"_files/a.txt": "a2", "_files/c.txt": None, "_files/d/e.txt": "e1"})
    execution, runs = run(project, sync_flow({"url": remote.url}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert ns_files(project) == {"a.txt": "a2", "b.txt": "b1", "c.txt": "c1", "d/e.txt": "e1"}
    states = {row["kestraPath"]: row["syncState"] for row in diff_rows(project, runs["sync"].outputs["files"])}
    assert states == {"/a.txt": "OVERWRITTEN", "/b.txt": "UNCHANGED", "/d/e.txt": "ADDED"}

    execution, runs = run(project, sync_flow({"url": remote.url, "delete": True}))
    assert ns_files(project) == {"a.txt": "a2", "b.txt": "b1", "d/e.txt": "e1"}
    rows = diff_rows(project, runs["sync"].outputs["files"])
    assert rows[0] == {"syncState": "DELETED", "kestraPath": "/c.txt"}  # no gitPath, listed first as in Kestra


def test_dry_run_reports_the_changes_and_writes_nothing(project: Project, remote: Remote) -> None:
    remote.commit({"_files/new.txt": "n", "_files/same.txt": "s"})
    ns = project.root / "namespace_files" / "team.data"
    ns.mkdir(parents=True)
    (ns / "same.txt").write_text("s")
    (ns / "old.txt").write_text("o")
    execution, runs = run(project, sync_flow({"url": remote.url, "delete": True, "dryRun": True}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert ns_files(project) == {"old.txt": "o", "same.txt": "s"}
    states = {row["kestraPath"]: row["syncState"] for row in diff_rows(project, runs["sync"].outputs["files"])}
    assert states == {"/old.txt": "DELETED", "/new.txt": "ADDED", "/same.txt": "UNCHANGED"}
    assert "dry run, would sync" in logs(project, execution)


def test_kestraignore_leaves_files_out(project: Project, remote: Remote) -> None:
    remote.commit({"_files/.kestraignore": "target/\n*.log\n", "_files/keep.sql": "k", "_files/target/x.sql": "x",
                   "_files/run.log": "l"})
    execution, runs = run(project, sync_flow({"url": remote.url}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert set(ns_files(project)) == {".kestraignore", "keep.sql"}


def test_missing_git_directory_fails_and_names_the_directories(project: Project, remote: Remote) -> None:
    remote.commit({"models/a.sql": "x"})
    execution, runs = run(project, sync_flow({"url": remote.url, "gitDirectory": "04-analytics/taxi"}))
    assert execution.state == "FAILED"
    assert "gitDirectory `04-analytics/taxi` does not exist on branch `main`" in runs["sync"].error
    assert "models" in runs["sync"].error
    execution, runs = run(project, sync_flow({"url": remote.url, "gitDirectory": "nope",
                                              "failOnMissingDirectory": False}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert diff_rows(project, runs["sync"].outputs["files"]) == []


def test_unknown_branch_lists_the_branches(project: Project, remote: Remote) -> None:
    remote.commit({"_files/a": "1"})
    remote.commit({"_files/a": "2"}, branch="dev")
    execution, runs = run(project, sync_flow({"url": remote.url, "branch": "prod"}))
    assert execution.state == "FAILED"
    assert "branch `prod` does not exist" in runs["sync"].error and "dev, main" in runs["sync"].error


def test_unreachable_remotes_fail_with_a_clear_message(project: Project, tmp_path: Path) -> None:
    for url in ((tmp_path / "none.git").as_uri(), f"http://127.0.0.1:{free_port()}/repo.git"):
        execution, runs = run(project, sync_flow({"url": url}))
        assert execution.state == "FAILED"
        assert "cannot reach the git remote" in runs["sync"].error, runs["sync"].error
        assert "Traceback" not in runs["sync"].error


def test_sync_over_http_with_basic_auth_and_the_token_masked(project: Project, tmp_path: Path) -> None:
    remote = Remote(tmp_path / "served")
    remote.commit({"_files/q.sql": "select 42"})
    with GitHttpServer(tmp_path / "served", credentials=("ana", TOKEN)) as server:
        ok, runs = run(project, sync_flow({"url": server.url("repo.git"), "username": "ana", "password": TOKEN}))
        assert ok.state == "SUCCESS", runs["sync"].error
        assert ns_files(project) == {"q.sql": "select 42"}
        assert any(auth for _, _, auth in server.requests)  # it did authenticate
        bad, runs = run(project, sync_flow({"url": server.url("repo.git"), "username": "ana",
                                            "password": TOKEN + "-wrong"}), "bad.yaml")
        assert bad.state == "FAILED"
        assert "refused the credentials" in runs["sync"].error
        embedded, runs = run(project, sync_flow({"url": server.url("repo.git", user=f"ana:{TOKEN}x")}), "url.yaml")
        assert embedded.state == "FAILED"
        assert "ana:******@" in runs["sync"].error, runs["sync"].error
    for execution in (ok, bad, embedded):
        document = json.dumps(execution.to_json(), default=str)
        text = document + logs(project, execution)
        assert TOKEN not in text
    shown = project.cli("executions", "show", bad.id)
    assert TOKEN not in shown.stdout + shown.stderr


def test_sync_over_git_daemon(project: Project, tmp_path: Path) -> None:
    remote = Remote(tmp_path / "daemon")
    remote.commit({"_files/d.txt": "via git://"})
    with GitDaemon(tmp_path / "daemon") as daemon:
        execution, runs = run(project, sync_flow({"url": daemon.url("repo.git")}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert ns_files(project) == {"d.txt": "via git://"}


def test_a_sync_that_cannot_swap_leaves_the_old_files(project: Project, remote: Remote) -> None:
    """The namespace dir made immutable (chattr +i, which binds root too): staging succeeds, the swap fails."""
    remote.commit({"_files/a.txt": "new", "_files/b.txt": "new"})
    ns = project.root / "namespace_files" / "team.data"
    ns.mkdir(parents=True)
    (ns / "a.txt").write_text("old")
    subprocess.run(["chattr", "+i", str(ns)], check=True)
    try:
        execution, runs = run(project, sync_flow({"url": remote.url, "delete": True}))
    finally:
        subprocess.run(["chattr", "-i", str(ns)], check=True)
    assert execution.state == "FAILED"
    assert "its previous files are unchanged" in runs["sync"].error
    assert ns_files(project) == {"a.txt": "old"}
    assert [p.name for p in ns.parent.iterdir() if p.name.startswith(".team.data.sync-")] == []
    execution, runs = run(project, sync_flow({"url": remote.url, "delete": True}))
    assert execution.state == "SUCCESS" and ns_files(project) == {"a.txt": "new", "b.txt": "new"}


def test_a_killed_sync_leaves_the_old_files_and_the_next_one_cleans_up(project: Project, remote: Remote) -> None:
    """SIGKILL while the new tree is being staged: the namespace still holds exactly the old files."""
    remote.commit({f"_files/f{i:04}.txt": f"new {i}" for i in range(1200)})
    ns = project.root / "namespace_files" / "team.data"
    ns.mkdir(parents=True)
    old = {f"f{i:04}.txt": f"old {i}" for i in range(0, 1200, 7)}
    for name, text in old.items():
        (ns / name).write_text(text)
    project.flow(sync_flow({"url": remote.url}), "sync.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/sync.yaml"], cwd=project.root,
                            env={**os.environ, "FLOWRUN_HOME": str(project.home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = None
    while proc.poll() is None and staging is None:
        staging = next(iter(ns.parent.glob(".team.data.sync-*")), None)
    proc.kill()
    proc.wait()
    assert staging is not None, "the sync ended before it staged anything"
    if staging.exists():  # killed before the swap: the old tree, untouched
        assert ns_files(project) == old
    else:  # the swap won the race: the whole new tree
        assert len(ns_files(project)) == 1200
    execution, runs = run(project, sync_flow({"url": remote.url}))
    assert execution.state == "SUCCESS", runs["sync"].error
    assert len(ns_files(project)) == 1200 and ns_files(project)["f0007.txt"] == "new 7"
    assert list(ns.parent.glob(".team.data.sync-*")) == []


# -- Clone ---------------------------------------------------------------------------------------------
def clone_flow(props: dict[str, Any], after: str) -> str:
    lines = [f"        {key}: {json.dumps(value)}" for key, value in props.items()]
    return "\n".join(["id: clone", "namespace: team.data", "tasks:", "  - id: wd",
                      "    type: io.kestra.plugin.core.flow.WorkingDirectory", "    tasks:", "      - id: clone",
                      f"        type: {CLONE}", *lines, "      - id: read",
                      "        type: io.kestra.plugin.scripts.shell.Commands",
                      "        taskRunner:", "          type: io.kestra.plugin.core.runner.Process",
                      "        commands:", f"          - {json.dumps(after)}"]) + "\n"


def test_clone_into_the_working_directory_shallow_by_default(project: Project, remote: Remote) -> None:
    remote.commit({"scripts/etl.py": "print('v1')"})
    remote.commit({"scripts/etl.py": "print('v2')"})
    execution, runs = run(project, clone_flow({"url": remote.url}, "cat scripts/etl.py; "
                                              "git rev-parse --is-shallow-repository"), "clone.yaml")
    assert execution.state == "SUCCESS", {k: v.error for k, v in runs.items()}
    out = "\n".join(line["message"] for line in execution_logs(str(project.home), execution.id, "read"))
    assert "print('v2')" in out and "true" in out
    assert runs["clone"].outputs["directory"].endswith(runs["clone"].outputs["directory"].split("/")[-1])


def test_clone_a_branch_a_tag_or_a_commit_into_a_directory(project: Project, remote: Remote) -> None:
    first = remote.commit({"v.txt": "one"})
    git("tag", "v1", first, cwd=remote.bare)
    remote.commit({"v.txt": "two"})
    remote.commit({"v.txt": "dev"}, branch="dev")
    cases = [({"branch": "dev"}, "dev"), ({"tag": "v1"}, "one"), ({"commit": first[:10]}, "one"), ({}, "two")]
    for props, expected in cases:
        execution, runs = run(project, clone_flow({"url": remote.url, "directory": "src", **props},
                                                  "cat src/v.txt"), "clone.yaml")
        assert execution.state == "SUCCESS", (props, {k: v.error for k, v in runs.items()})
        out = "\n".join(line["message"] for line in execution_logs(str(project.home), execution.id, "read"))
        assert out.strip().endswith(expected), (props, out)
        assert runs["clone"].outputs["directory"].endswith("/src")


def test_clone_errors_are_clear(project: Project, remote: Remote) -> None:
    remote.commit({"v.txt": "x"})
    for props, message in [({"branch": "nope"}, "branch `nope` does not exist"),
                           ({"commit": "deadbeef"}, "commit deadbeef does not exist"),
                           ({"cloneAllBranches": False}, "`branch` must be set"),
                           ({"directory": "../../escape"}, "leaves the working directory")]:
        execution, runs = run(project, clone_flow({"url": remote.url, **props}, "true"), "clone.yaml")
        assert execution.state == "FAILED"
        assert message in runs["clone"].error, (props, runs["clone"].error)


@pytest.mark.parametrize("depth", [1, 3])
def test_clone_depth(project: Project, remote: Remote, depth: int) -> None:
    for i in range(4):
        remote.commit({"n.txt": str(i)})
    execution, runs = run(project, clone_flow({"url": remote.url, "depth": depth}, "git rev-list --count HEAD"),
                          "clone.yaml")
    assert execution.state == "SUCCESS", {k: v.error for k, v in runs.items()}
    out = "\n".join(line["message"] for line in execution_logs(str(project.home), execution.id, "read"))
    assert out.strip().endswith(str(depth))


def test_clone_submodules_with_git_config(project: Project, tmp_path: Path) -> None:
    """`cloneSubmodules` fetches a submodule; `gitConfig` reaches git (file:// submodules need it allowed)."""
    lib = Remote(tmp_path / "lib")
    lib.commit({"lib.txt": "from the submodule"})
    app = Remote(tmp_path / "app")
    app.commit({"main.txt": "app"})
    git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet", lib.url, "vendor/lib", cwd=app.work)
    git("commit", "--quiet", "-m", "add lib", cwd=app.work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=app.work)
    props = {"url": app.url, "cloneSubmodules": True, "gitConfig": {"protocol.file.allow": "always"}}
    execution, runs = run(project, clone_flow(props, "cat vendor/lib/lib.txt"), "clone.yaml")
    assert execution.state == "SUCCESS", {k: v.error for k, v in runs.items()}
    out = "\n".join(line["message"] for line in execution_logs(str(project.home), execution.id, "read"))
    assert "from the submodule" in out


def test_sync_over_ssh_with_a_private_key_and_its_passphrase(project: Project, tmp_path: Path) -> None:
    served = Remote(tmp_path / "ssh")
    served.commit({"_files/s.txt": "over ssh"})
    private, public = ssh_key(tmp_path / "id_task", "pass-" + TOKEN)
    _, plain_public = ssh_key(tmp_path / "id_plain")
    with SshServer(tmp_path / "ssh", public + plain_public) as server:
        ok, runs = run(project, sync_flow({"url": server.url("repo.git"), "privateKey": private,
                                           "passphrase": "pass-" + TOKEN}))
        assert ok.state == "SUCCESS", runs["sync"].error
        assert ns_files(project) == {"s.txt": "over ssh"}
        by_path, runs = run(project, sync_flow({"url": server.url("repo.git"),
                                                "privateKeyPath": str(tmp_path / "id_plain")}), "path.yaml")
        assert by_path.state == "SUCCESS", runs["sync"].error
        wrong, runs = run(project, sync_flow({"url": server.url("repo.git"), "privateKey": private,
                                              "passphrase": "nope"}), "wrong.yaml")
        assert wrong.state == "FAILED" and "with the given passphrase" in runs["sync"].error
        refused, runs = run(project, sync_flow({"url": server.url("repo.git"),
                                                "privateKey": ssh_key(tmp_path / "id_other")[0]}), "other.yaml")
        assert refused.state == "FAILED" and "refused the credentials" in runs["sync"].error, runs["sync"].error
    host_key = (server.dir / "host_key.pub").read_text().split()[1]
    assert host_key in (project.home / "ssh" / "known_hosts").read_text()  # recorded by flowrun, first use
    user_known = Path.home() / ".ssh" / "known_hosts"
    assert not user_known.exists() or host_key not in user_known.read_text()  # the user's file is untouched
    for execution in (ok, wrong):
        text = json.dumps(execution.to_json(), default=str) + logs(project, execution)
        assert TOKEN not in text and "PRIVATE KEY" not in text


def test_sync_into_a_gcs_shared_storage(project: Project, remote: Remote, gcs_emulator: GcsEmulator) -> None:
    """With `storage: gs://...`, the namespace files live in the bucket: the sync uploads and deletes there."""
    bucket = gcs_emulator.bucket("flowrun-git")
    prefix = f"git/{uuid.uuid4().hex}"
    project.config(f"storage: gs://flowrun-git/{prefix}\nemulators:\n  storage: {gcs_emulator.url}\n")
    remote.commit({"_files/a.sql": "select 1", "_files/m/b.sql": "select 2"})
    execution, runs = run(project, sync_flow({"url": remote.url}))
    assert execution.state == "SUCCESS", runs["sync"].error
    keys = sorted(blob.name[len(prefix) + 1:] for blob in bucket.list_blobs(prefix=f"{prefix}/namespace_files/"))
    assert keys == ["namespace_files/team.data/a.sql", "namespace_files/team.data/m/b.sql"]
    remote.commit({"_files/a.sql": "select 10", "_files/m/b.sql": None})
    execution, runs = run(project, sync_flow({"url": remote.url, "delete": True}))
    assert execution.state == "SUCCESS", runs["sync"].error
    blobs = {blob.name[len(prefix) + 1:]: blob for blob in bucket.list_blobs(prefix=f"{prefix}/namespace_files/")}
    assert list(blobs) == ["namespace_files/team.data/a.sql"]
    assert blobs["namespace_files/team.data/a.sql"].download_as_bytes() == b"select 10"
    storage, _ = open_storage(open_project(str(project.home), project.root))
    rows = read_values(storage.local_path(runs["sync"].outputs["files"]))
    assert {row["kestraPath"]: row["syncState"] for row in rows} == {"/a.sql": "OVERWRITTEN", "/m/b.sql": "DELETED"}
