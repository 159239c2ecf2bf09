"""The zoomcamp flows: each validates or names its unsupported types, and 01_hello_world runs unchanged."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ZOOMCAMP, Project

from flowrun.tasks.registry import available_types

ZOOMCAMP_FILES = sorted(ZOOMCAMP.rglob("*.yaml"))


def _task_types(node: object) -> set[str]:
    """The `type` of every task at any depth (a map with an `id` and a dotted `type`), triggers excepted."""
    found: set[str] = set()
    if isinstance(node, dict):
        value = node.get("type")
        if "id" in node and isinstance(value, str) and "." in value:
            found.add(value)
        for key, child in node.items():
            if key not in ("triggers", "pluginDefaults", "taskDefaults"):
                found |= _task_types(child)
    elif isinstance(node, list):
        for child in node:
            found |= _task_types(child)
    return found


def test_zoomcamp_files_are_there() -> None:
    assert len(ZOOMCAMP_FILES) >= 20, ZOOMCAMP


def test_validate_every_zoomcamp_flow(project: Project) -> None:
    result = project.cli("validate", *map(str, ZOOMCAMP_FILES))
    assert result.code in (0, 3), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "internal error" not in result.stderr
    known = set(available_types())
    for path in ZOOMCAMP_FILES:
        problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
        unknown = _task_types(yaml.safe_load(path.read_text(encoding="utf-8"))) - known
        if not problems:
            assert f"ok  {path}" in result.stdout
        for type_name in unknown:
            assert any(type_name in line and "not supported by flowrun" in line for line in problems), (
                f"{path.name}: unsupported {type_name} not named:\n" + "\n".join(problems))
        for line in problems:
            assert re.match(rf"{re.escape(str(path))}:\d+(:\d+)?: ", line), line
            assert "not supported by flowrun" in line, f"{path.name}: a problem other than an unsupported type: {line}"


@pytest.mark.parametrize("path", ZOOMCAMP_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_api_never_raises(path: Path) -> None:
    """The same check in-process, one file at a time: problems are values, never exceptions."""
    from flowrun.app.flows import validate_paths

    [(name, problems)] = validate_paths([str(path)])
    assert name == str(path)
    for problem in problems:
        assert problem.file == str(path) and problem.line, problem


@pytest.mark.slow
def test_hello_world_runs_unchanged(project: Project) -> None:
    source = ZOOMCAMP / "current" / "01_hello_world.yaml"
    shutil.copy(source, project.root / "flows" / source.name)
    result = project.cli("run", f"flows/{source.name}", "--json", timeout=90)
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    doc = result.json()
    assert doc["state"] == "SUCCESS"
    assert (doc["namespace"], doc["flowId"]) == ("zoomcamp", "01_hello_world")
    assert doc["inputs"] == {"name": "Will"}
    assert [tr["taskId"] for tr in doc["taskRuns"]] == [
        "hello_message", "generate_output", "sleep", "log_output", "goodbye_message"]
    assert doc["taskRuns"][1]["outputs"] == {"value": "I was generated during this workflow."}

    logs = project.cli("logs", doc["id"]).stdout
    lines = [line.split(" ", 1)[1] for line in logs.splitlines()]
    assert lines == [
        "ERROR hello_message: Hello, Will!",
        "ERROR log_output: This is an output: I was generated during this workflow.",
        "ERROR goodbye_message: Goodbye, Will!",
    ]


#: the web UI's stack: only `flowrun server` and `flowrun report` import it
SERVER_STACK = ("starlette", "uvicorn", "jinja2", "multipart", "python_multipart", "flowrun.web")


def test_validate_and_help_import_no_heavy_library(tmp_path: Path) -> None:
    """CLI start-up stays lean: validating every zoomcamp flow loads no database driver, cloud client, rich or
    web server stack."""
    import subprocess
    import sys

    heavy = ("psycopg", "duckdb", "google.cloud.storage", "google.cloud.bigquery", "rich", "requests", *SERVER_STACK)
    probe = ("import sys\nfrom flowrun.app.flows import validate_paths\n"
             f"validate_paths([{str(ZOOMCAMP)!r}])\n"
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "FLOWRUN_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    helped = subprocess.run([sys.executable, "-c", "import sys\nimport flowrun.cli\n"
                             "print(','.join(m for m in ('pydantic.main', 'flowrun.app') if m in sys.modules))"],
                            capture_output=True, text=True)
    assert helped.stdout.strip() == "", "flowrun.cli imports the API and pydantic models before a command needs them"


@pytest.mark.parametrize("argv", [["--help"], ["validate", "FLOW"], ["run", "FLOW"]])
def test_help_validate_and_run_import_nothing_of_the_server_stack(tmp_path: Path, argv: list[str]) -> None:
    """`flowrun --help`, `validate` and `run` (the real commands, to their exit) never import the web UI's stack."""
    import subprocess
    import sys

    flow = Path(__file__).resolve().parents[2] / "flows" / "hello.yaml"
    args = [str(flow) if a == "FLOW" else a for a in argv]
    probe = ("import atexit, os, sys\n"
             f"atexit.register(lambda: os.write(2, ('LOADED:' + ','.join(m for m in {SERVER_STACK!r} "
             "if m in sys.modules) + '\\n').encode()))\n"
             f"sys.argv = ['flowrun', *{args!r}]\n"
             "from flowrun.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "FLOWRUN_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert "LOADED:\n" in done.stderr, done.stderr[-500:]
