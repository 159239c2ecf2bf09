"""The deprecated Push and Sync tasks against real git remotes, and a push rejected as a non-fast-forward."""

from __future__ import annotations

import json

from conftest import Project
from git_fixture import Remote, remote
from test_git_flows import flow_text, project_flows
from test_git_push import ns_write
from test_git_sync import logs, ns_files, run

__all__ = ["remote"]


def test_push_commits_input_files_namespace_files_and_flows(project: Project, remote: Remote) -> None:
    remote.commit({"stale.txt": "removed by the push"})
    ns_write(project, {"scripts/etl.py": "print()\n"})
    project.flow(flow_text("other", "dev"), "other.yaml")
    project.flow(flow_text("child", "dev.team"), "child.yaml")
    text = (f"id: push\nnamespace: dev\ntasks:\n  - id: push\n    type: io.kestra.plugin.git.Push\n"
            f"    url: {json.dumps(remote.url)}\n    branch: feature\n    commitMessage: add things\n"
            f"    namespaceFiles:\n      enabled: true\n    inputFiles:\n      out/avg.txt: \"{{{{ 6 * 7 }}}}\"\n"
            f"    author:\n      name: Ana\n      email: ana@example.com\n")
    execution, runs = run(project, text, "push.yml")
    assert execution.state == "SUCCESS", runs["push"].error
    assert remote.files("feature") == ["_flows/dev.other.yml", "_flows/dev.push.yml", "_flows/dev.team.child.yml",
                                       "out/avg.txt", "scripts/etl.py"]
    assert remote.show("out/avg.txt", "feature") == "42"
    assert runs["push"].outputs["commitId"] == remote.head("feature")
    assert remote.log("feature")[0] == "Ana <ana@example.com>|add things"
    assert "Branch feature does not exist, creating it" in logs(project, execution)


def test_a_push_from_a_stale_clone_is_rejected_as_a_non_fast_forward(project: Project, remote: Remote) -> None:
    """Clone, then another clone pushes a commit, then Push from the first: git refuses it."""
    remote.commit({"a.txt": "1"})
    other = f"(git clone -q {remote.url} theirs.tmp && cd theirs.tmp && echo 2 > b.txt && git add b.txt && " \
            "git -c user.name=o -c user.email=o@x commit -qm theirs && git push -q origin HEAD:main) && " \
            "rm -rf theirs.tmp"
    text = "\n".join([
        "id: stale", "namespace: dev", "tasks:", "  - id: wd", "    type: io.kestra.plugin.core.flow.WorkingDirectory",
        "    tasks:", "      - id: clone", "        type: io.kestra.plugin.git.Clone", f"        url: {remote.url}",
        "        branch: main", "      - id: theirs", "        type: io.kestra.plugin.scripts.shell.Commands",
        "        taskRunner:", "          type: io.kestra.plugin.core.runner.Process", "        commands:",
        f"          - {json.dumps(other)}", "          - echo mine > mine.txt", "      - id: push",
        "        type: io.kestra.plugin.git.Push", "        branch: main", "        commitMessage: mine",
        "        flows:", "          enabled: false", ""])
    execution, runs = run(project, text, "stale.yml")
    assert execution.state == "FAILED", logs(project, execution)
    assert runs["theirs"].state == "SUCCESS", runs["theirs"].error
    assert "rejected the push" in runs["push"].error and "non-fast-forward" in runs["push"].error
    assert remote.files() == ["a.txt", "b.txt"]


def test_sync_makes_git_the_source_of_the_namespace(project: Project, remote: Remote) -> None:
    remote.commit({"_flows/a.yml": flow_text("a", "elsewhere"), "_flows/b.yml": flow_text("b", "dev.child"),
                   "scripts/x.py": "print('x')\n"})
    ns_write(project, {"old.txt": "old"})
    project.flow(flow_text("gone", "dev"), "gone.yaml")
    text = (f"id: sync\nnamespace: dev\ntasks:\n  - id: sync\n    type: io.kestra.plugin.git.Sync\n"
            f"    url: {json.dumps(remote.url)}\n    branch: main\n    dryRun: \"{{{{ inputs.dry }}}}\"\n"
            "inputs:\n  - id: dry\n    type: BOOLEAN\n")
    path = project.flow(text, "sync.yml")
    dry = project.run(path, {"dry": True})
    assert dry.state == "SUCCESS"
    assert ns_files(project, "dev") == {"old.txt": "old"} and "gone.yaml" in project_flows(project)
    assert "+ scripts/x.py" in logs(project, dry) and "- old.txt" in logs(project, dry)
    done = project.run(path, {"dry": False})
    assert done.state == "SUCCESS", [tr.error for tr in done.task_runs]
    assert ns_files(project, "dev") == {"scripts/x.py": "print('x')\n"}, logs(project, done)
    flows = project_flows(project)
    assert set(flows) == {"sync.yml", "dev/a.yml", "dev.child/b.yml"}
    assert flows["dev/a.yml"] == flow_text("a", "dev")
