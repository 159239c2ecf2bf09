"""Helpers for the core task tests: one-flow runs through `Project.run`, task runs by id, storage URIs as files."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from conftest import CliResult, Project

CORE = "io.kestra.plugin.core"


def flow_text(tasks: str, flow_id: str = "f", namespace: str = "t.team", inputs: str = "") -> str:
    """A flow document; `tasks` and `inputs` are YAML list items indented by two spaces."""
    head = f"id: {flow_id}\nnamespace: {namespace}\n"
    if inputs:
        head += f"inputs:\n{inputs}"
    return head + f"tasks:\n{tasks}"


def run(project: Project, tasks: str, inputs: dict[str, Any] | None = None, flow_id: str = "f",
        namespace: str = "t.team", input_decl: str = "") -> Any:
    path = project.flow(flow_text(tasks, flow_id, namespace, input_decl), f"{flow_id}.yaml")
    return project.run(path, inputs)


def taskrun(execution: Any, task_id: str) -> Any:
    [found] = [tr for tr in execution.task_runs if tr.task_id == task_id]
    return found


def local(project: Project, uri: str) -> Path:
    """The file behind a kestra:// URI in the project's internal storage."""
    assert uri.startswith("kestra:///"), uri
    return project.home / "storage" / unquote(uri[len("kestra:///"):])


def read(project: Project, uri: str) -> str:
    return local(project, uri).read_text(encoding="utf-8")


def file_input(project: Project, name: str, content: str) -> Path:
    path = project.root / name
    path.write_text(content, encoding="utf-8")
    return path


FILE_INPUT = "  - id: file\n    type: FILE\n"


def assert_clean(result: CliResult, code: int) -> None:
    assert result.code == code, f"exit {result.code}, expected {code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
