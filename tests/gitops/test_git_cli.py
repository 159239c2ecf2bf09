"""`flowrun git pull/push`, `flowrun validate --changed` and the pre-commit hook, on real git repositories."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, Project
from git_fixture import IDENTITY, GitHttpServer, Remote, git, remote
from helpers import assert_clean
from test_git_flows import flow_text, project_flows
from test_git_push import ns_write
from test_git_sync import TOKEN, ns_files

from flowrun.app.git import GitRequest, changed_flow_files, git_pull, git_push
from flowrun.errors import UsageError
from flowrun.gitops.remote import GitError

__all__ = ["remote"]


@contextlib.contextmanager
def in_project(project: Project) -> Iterator[None]:
    cwd, home = os.getcwd(), os.environ.get("FLOWRUN_HOME")
    os.chdir(project.root)
    os.environ["FLOWRUN_HOME"] = str(project.home)
    try:
        yield
    finally:
        os.chdir(cwd)
        if home is None:
            os.environ.pop("FLOWRUN_HOME", None)
        else:
            os.environ["FLOWRUN_HOME"] = home
BAD = "id: bad\nnamespace: dev\ntasks:\n  - id: x\n    type: io.kestra.plugin.core.log.Log\n    mesage: typo\n"


def test_pull_dry_run_then_pull_then_delete(project: Project, remote: Remote) -> None:
    remote.commit({"flows/a.yaml": flow_text("a", "dev"), "flows/sub/b.yaml": flow_text("b", "dev.sub"),
                   "flows/o.yaml": flow_text("o", "other"), "namespace_files/dev/q.sql": "select 1",
                   "namespace_files/other/z.txt": "z"})
    project.flow(flow_text("local", "dev"), "local.yaml")
    dry = project.cli("git", "pull", "--url", remote.url, "--dry-run")
    assert_clean(dry, 0)
    assert "+ flows/a.yaml" in dry.stdout and "+ namespace_files/dev/q.sql" in dry.stdout
    assert "dry run: would pull 5 added, 0 updated, 0 deleted" in dry.stdout
    assert set(project_flows(project)) == {"local.yaml"}
    done = project.cli("git", "pull", "--url", remote.url, "--namespace", "dev")
    assert_clean(done, 0)
    assert set(project_flows(project)) == {"local.yaml", "a.yaml", "sub/b.yaml"}  # not `other`
    assert ns_files(project, "dev") == {"q.sql": "select 1"}
    assert not (project.root / "namespace_files" / "other").exists()
    remote.commit({"flows/a.yaml": flow_text("a", "dev", "changed")})
    deleted = project.cli("git", "pull", "--url", remote.url, "--namespace", "dev", "--delete")
    assert_clean(deleted, 0)
    assert "~ flows/a.yaml" in deleted.stdout and "- flows/local.yaml" in deleted.stdout
    assert set(project_flows(project)) == {"a.yaml", "sub/b.yaml"}


def test_pull_refuses_invalid_flows_and_explains_git_errors(project: Project, remote: Remote) -> None:
    remote.commit({"flows/good.yaml": flow_text("good", "dev"), "flows/bad.yaml": BAD})
    invalid = project.cli("git", "pull", "--url", remote.url)
    assert_clean(invalid, 3)
    assert re.search(r"flows/bad\.yaml:6:\d+: .*mesage", invalid.stderr), invalid.stderr
    assert project_flows(project) == {}
    branch = project.cli("git", "pull", "--url", remote.url, "--branch", "prod")
    assert_clean(branch, 1)
    assert "branch `prod` does not exist" in branch.stderr and "main" in branch.stderr
    with in_project(project):  # the same errors in-process: their exit codes and hints
        with pytest.raises(GitError) as missing:
            git_pull(GitRequest(url=remote.url, git_directory="kestra"))
        assert missing.value.exit_code == 1 and "holds neither flows/ nor namespace_files/" in missing.value.message
        with pytest.raises(UsageError) as no_url:
            git_push(GitRequest())
        assert "pass --url, or set git.url in flowrun.yaml" in str(no_url.value.hint)


def test_the_git_block_of_flowrun_yaml_with_a_secret_token_over_http(project: Project, tmp_path: Path) -> None:
    served = Remote(tmp_path / "served")
    served.commit({"kestra/flows/a.yaml": flow_text("a", "dev")})
    with GitHttpServer(tmp_path / "served", credentials=("ana", TOKEN)) as server:
        project.config(f"""
            git:
              url: {server.url("repo.git")}
              gitDirectory: kestra
              username: ana
              password: "{{{{ secret('GIT_TOKEN') }}}}"
              authorEmail: ana@example.com
            """)
        good = {"SECRET_GIT_TOKEN": base64.b64encode(TOKEN.encode()).decode()}
        pulled = project.cli("git", "pull", env=good)
        assert_clean(pulled, 0)
        assert set(project_flows(project)) == {"a.yaml"}
        project.flow(flow_text("new", "dev"), "new.yaml")
        pushed = project.cli("git", "push", "-m", "add new", env=good)
        assert_clean(pushed, 0)
        assert "+ flows/new.yaml" in pushed.stdout and "pushed commit" in pushed.stdout
        assert served.files() == ["kestra/flows/a.yaml", "kestra/flows/new.yaml"]
        assert served.log()[0] == "ana <ana@example.com>|add new"
        wrong = {"SECRET_GIT_TOKEN": base64.b64encode(f"x{TOKEN}".encode()).decode()}
        refused = project.cli("git", "pull", env=wrong)
    assert_clean(refused, 1)
    assert "refused the credentials" in refused.stderr and TOKEN not in refused.stderr + refused.stdout


def test_push_mirrors_the_project_and_a_dry_run_pushes_nothing(project: Project, remote: Remote) -> None:
    remote.commit({"flows/gone.yaml": flow_text("gone", "dev"), "README.md": "kept"})
    project.flow(flow_text("a", "dev"), "a.yaml")
    ns_write(project, {"etl.py": "print()\n"})
    head = remote.head()
    dry = project.cli("git", "push", "--url", remote.url, "--dry-run")
    assert_clean(dry, 0)
    assert {"+ flows/a.yaml", "- flows/gone.yaml", "+ namespace_files/dev/etl.py"} <= set(dry.stdout.splitlines())
    assert remote.head() == head
    done = project.cli("git", "push", "--url", remote.url, "--json")
    assert_clean(done, 0)
    assert done.json()["commitId"] == remote.head()
    assert remote.files() == ["README.md", "flows/a.yaml", "namespace_files/dev/etl.py"]
    with in_project(project):
        again = git_push(GitRequest(url=remote.url))
    assert again.changes == [] and again.commit is not None and again.commit.commit_id is None


def _commit_all(repo: Path, message: str) -> None:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", message, cwd=repo)


def test_validate_changed_checks_the_flows_changed_since_a_ref(project: Project) -> None:
    git("init", "--quiet", str(project.root))
    project.flow(flow_text("a", "dev"), "a.yaml")
    project.flow(flow_text("b", "dev"), "b.yaml")
    project.flow(flow_text("c", "dev"), "c.yaml")
    (project.root / "notes.yaml").write_text("not: a flow\n")
    _commit_all(project.root, "one")
    assert_clean(quiet := project.cli("validate", "--changed"), 0)
    assert "no flow changed since HEAD" in quiet.stdout
    project.flow(BAD.replace("id: bad", "id: a"), "a.yaml")  # modified, not staged
    project.flow(flow_text("d", "dev"), "d.yaml")  # untracked
    (project.root / "flows" / "c.yaml").unlink()  # deleted: nothing to validate
    git("add", "flows/d.yaml", cwd=project.root)
    result = project.cli("validate", "--changed")
    assert_clean(result, 3)
    assert "flows/a.yaml:6" in result.stderr and "ok  flows/d.yaml" in result.stdout
    assert "b.yaml" not in result.stdout + result.stderr and "c.yaml" not in result.stdout + result.stderr
    _commit_all(project.root, "two")
    since = project.cli("validate", "--changed", "HEAD~1")
    assert_clean(since, 3)
    assert "flows/a.yaml:6" in since.stderr and "ok  flows/d.yaml" in since.stdout
    with in_project(project), pytest.raises(UsageError) as bad_ref:
        changed_flow_files("no-such-ref")
    assert "`no-such-ref` is not a git commit" in bad_ref.value.message


def test_the_pre_commit_hook_definition_and_a_commit_it_blocks(project: Project, tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"]) == ("flowrun-validate", "flowrun validate", "python")
    files = re.compile(hook["files"])
    assert files.search("flows/a.yaml") and files.search("flows/x/b.yml") and not files.search("docs/a.yaml")
    repo = project.root
    git("init", "--quiet", str(repo))
    local = {**hook, "language": "system"}  # the same hook, run from this checkout's flowrun (offline)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, **IDENTITY, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "FLOWRUN_HOME": str(project.home)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=120)

    assert run(str(bin_dir / "pre-commit"), "install").returncode == 0
    project.flow(BAD, "bad.yaml")
    (repo / "README.md").write_text("readme")
    run("git", "add", "--all")
    blocked = run("git", "commit", "-m", "bad flow")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "flowrun validate" in blocked.stderr + blocked.stdout and "flows/bad.yaml:6" in blocked.stderr
    project.flow(flow_text("bad", "dev"), "bad.yaml")
    run("git", "add", "--all")
    committed = run("git", "commit", "-m", "fixed flow")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert "flowrun validate" in committed.stderr + committed.stdout and "Passed" in committed.stderr + committed.stdout
