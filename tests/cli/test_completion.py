"""Shell completion through typer's protocol (bash): flow files, flow ids, execution ids, trigger ids, KV keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CliResult, Project

#: the installed `flowrun` script: completion keys on the program name (`python -m flowrun` is another one)
FLOWRUN = str(Path(sys.executable).parent / "flowrun")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("complete"))
    project.flow_file("cli/scheduled.yaml", "scheduled.yaml")
    project.flow_file("cli/labelled.yaml", "sub/labelled.yaml", namespace="team.data")
    assert project.cli("kv", "set", "team.data", "bucket", "my-bucket").code == 0
    assert project.cli("kv", "set", "team.data", "token", "s3cret", "--secret").code == 0
    return project


def _flowrun(project: Project, env: dict[str, str], *args: str) -> CliResult:
    done = subprocess.run([FLOWRUN, *args], cwd=project.root, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "FLOWRUN_HOME": str(project.home), **env})
    return CliResult(done.returncode, done.stdout, done.stderr)


def _complete(project: Project, line: str) -> list[str]:
    """What bash gets for the last word of `line` (typer's COMP_WORDS/COMP_CWORD protocol)."""
    words = line.split(" ")
    result = _flowrun(project, {"_FLOWRUN_COMPLETE": "complete_bash", "COMP_WORDS": line,
                                "COMP_CWORD": str(len(words) - 1)})
    assert result.code == 0 and result.stderr == "", result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_flow_files_and_refs(project: Project) -> None:
    assert _complete(project, "flowrun run ") == ["flows/scheduled.yaml", "flows/sub/labelled.yaml",
                                                  "tests.cli/scheduled", "team.data/labelled"]
    assert _complete(project, "flowrun run flows/s") == ["flows/scheduled.yaml", "flows/sub/labelled.yaml"]
    assert _complete(project, "flowrun validate flows/sub") == ["flows/sub/labelled.yaml"]
    assert _complete(project, "flowrun graph te") == ["tests.cli/scheduled", "team.data/labelled"]


def test_flow_ids(project: Project) -> None:
    assert _complete(project, "flowrun executions list --flow team") == ["team.data/labelled"]


def test_execution_ids(project: Project) -> None:
    first = project.cli("run", "tests.cli/scheduled", "--json").json()["id"]
    second = project.cli("run", "team.data/labelled", "--json").json()["id"]
    assert set(_complete(project, "flowrun logs ")) >= {first, second}
    assert _complete(project, f"flowrun executions show {first[:6]}") == [first]
    assert first in _complete(project, "flowrun restart ")


def test_trigger_ids(project: Project) -> None:
    assert _complete(project, "flowrun run flows/scheduled.yaml --trigger ") == ["daily"]
    assert _complete(project, "flowrun run flows/sub/labelled.yaml --trigger ") == []
    assert _complete(project, "flowrun backfill tests.cli/scheduled --trigger d") == ["daily"]


def test_kv_namespaces_and_keys(project: Project) -> None:
    assert _complete(project, "flowrun kv get ") == ["team.data", "tests.cli"]
    assert _complete(project, "flowrun kv get team.data ") == ["bucket", "token"]
    assert _complete(project, "flowrun kv delete team.data to") == ["token"]


def test_a_broken_project_completes_nothing_without_a_traceback(project: Project) -> None:
    assert _complete(project, "flowrun kv get no_such.ns ") == []
    assert _complete(project, "flowrun run flows/missing.yaml --trigger ") == []


def test_completing_ids_where_no_state_is_creates_none(tmp_path: Path) -> None:
    fresh = Project(tmp_path)
    assert _complete(fresh, "flowrun logs ") == [] and _complete(fresh, "flowrun kv get team.data ") == []
    assert not fresh.home.exists() or not any(fresh.home.iterdir())


def test_typer_prints_the_script_for_each_shell(project: Project) -> None:
    for shell, marker in (("bash", "complete -o default -F"), ("zsh", "compdef"), ("fish", "complete --command")):
        result = _flowrun(project, {}, "completion", shell)
        assert result.code == 0 and "_FLOWRUN_COMPLETE" in result.stdout and marker in result.stdout, shell
    assert _flowrun(project, {}, "completion", "tcsh").code == 2


def test_install_writes_the_script_where_the_shell_reads_it(project: Project, tmp_path: Path) -> None:
    result = _flowrun(project, {"HOME": str(tmp_path)}, "completion", "fish", "--install")
    assert result.code == 0, result.stderr
    script = tmp_path / ".config" / "fish" / "completions" / "flowrun.fish"
    assert "_FLOWRUN_COMPLETE=complete_fish" in script.read_text(encoding="utf-8")
