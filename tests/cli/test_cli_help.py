"""`--help` reads like a manual: FLOW, KEY=VALUE and FILE metavars, the global options, and `--version`."""

from __future__ import annotations

import platform
import re
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

from flowrun import __version__
from flowrun.cli import app


def _all_commands() -> list[list[str]]:
    """The argv of every command and group, found by walking the click tree (new commands are covered too)."""
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return found


def test_no_help_shows_a_python_type_or_braces() -> None:
    runner = CliRunner()
    commands = _all_commands()
    assert len(commands) > 20
    for argv in commands:
        result = runner.invoke(app, [*argv, "--help"])
        assert result.exit_code == 0, (argv, result.output)
        usage = result.output.splitlines()[0]
        assert "{" not in usage, usage
        assert not re.search(r"<(str|int|list\[|Path|float|bool)", result.output), (argv, result.output)


def test_run_help_names_its_values() -> None:
    output = CliRunner().invoke(app, ["run", "--help"], prog_name="flowrun").output
    assert output.startswith("Usage: flowrun run [OPTIONS] FLOW\n")
    assert re.search(r"-i, --input KEY=VALUE\s", output) and re.search(r"--inputs FILE\s", output)
    assert re.search(r"-l, --label KEY=VALUE\s", output) and re.search(r"--max-parallel N\s", output)
    assert re.search(r"--home DIR\s", output)
    validate = CliRunner().invoke(app, ["validate", "--help"], prog_name="flowrun").output
    assert "Usage: flowrun validate [OPTIONS] [PATH...]\n" in validate


def test_top_level_help_lists_debug_home_and_version() -> None:
    output = CliRunner().invoke(app, ["--help"]).output
    for option in ("--version", "--debug", "--home DIR"):
        assert re.search(rf"^\s+{re.escape(option)}\s", output, re.M), (option, output)


def test_version_prints_flowrun_and_python_versions(project) -> None:
    result = project.cli("--version")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"flowrun {__version__} (Python {platform.python_version()}")


def test_home_before_the_command_is_the_state_dir(project) -> None:
    project.flow("""
        id: hello
        namespace: demo
        tasks:
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: hi
        """, "hello.yaml")
    other = project.root / "elsewhere"
    ran = project.cli("--home", str(other), "run", "flows/hello.yaml")
    assert ran.code == 0, ran.stderr
    assert (other / "flowrun.db").exists() or any(other.iterdir())
    listed = project.cli("--home", str(other), "executions", "list", "--json")
    assert [row["flowId"] for row in listed.json()] == ["hello"]
    assert project.cli("executions", "list", "--json").json() == []  # the default home saw nothing


def test_debug_before_the_command_prints_the_traceback(project) -> None:
    plain = project.cli("executions", "show", "nope")
    assert plain.code == 2 and "nope" in plain.stderr and "Traceback" not in plain.stderr
    debug = project.cli("--debug", "executions", "show", "nope")
    assert debug.code == 2 and "nope" in debug.stderr and "Traceback" in debug.stderr
