"""`graph EXECUTION_ID`: the revision an execution ran, each task coloured by its state (tree, Mermaid, DOT)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Project


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    project = Project(tmp_path_factory.mktemp("graph"))
    project.flow_file("cli/states.yaml", "states.yaml")
    result = project.cli("run", "flows/states.yaml", "--json")
    assert result.code == 0, result.stderr
    return project, result.json()["id"]


def test_tree_shows_each_tasks_state(ran: tuple[Project, str]) -> None:
    project, execution_id = ran
    result = project.cli("graph", execution_id[:10])
    assert result.code == 0, result.stderr
    out = result.stdout
    assert re.search(r"greet · Log\s+SUCCESS", out) and re.search(r"ok · Return\s+SUCCESS", out)
    assert re.search(r"flaky · Fail\s+WARNING", out) and re.search(r"never · Log\s+not run", out)


def test_mermaid_and_dot_fill_tasks_by_state(ran: tuple[Project, str]) -> None:
    project, execution_id = ran
    mermaid = project.cli("graph", execution_id, "--format", "mermaid").stdout
    keys = {label: key for key, label in re.findall(r'^\s+(n\d+)\W+"?(\w+) ·', mermaid, re.M)}
    assert "classDef warning fill:#fff59d" in mermaid and f"class {keys['flaky']} warning" in mermaid
    success = re.search(r"^\s+class (\S+) success$", mermaid, re.M)
    assert success and set(success.group(1).split(",")) == {keys["greet"], keys["check"], keys["ok"]}
    dot = project.cli("graph", execution_id, "--format", "dot").stdout
    assert re.search(r'label="flaky · Fail", shape=box, style=filled, fillcolor="#fff59d"', dot)
    assert re.search(r'label="never · Log", shape=box\];', dot)  # not run: not filled


def test_a_flow_file_still_draws_without_states(ran: tuple[Project, str]) -> None:
    project, _ = ran
    out = project.cli("graph", "flows/states.yaml").stdout
    assert "greet · Log" in out and "SUCCESS" not in out and "not run" not in out


def test_a_loop_child_shows_its_last_iterations_state(tmp_path: Path) -> None:
    """Like Kestra's topology (and the web UI's): the latest task run's state, not the worst of the iterations."""
    project = Project(tmp_path)
    project.flow_file("cli/loop_states.yaml", "loop_states.yaml")
    result = project.cli("run", "flows/loop_states.yaml", "--json")
    assert result.code == 0, result.stderr
    out = project.cli("graph", result.json()["id"]).stdout
    assert re.search(r"loop · ForEach\s+WARNING", out) and re.search(r"step · Fail\s+SUCCESS", out)


def test_an_unknown_name_where_no_state_is_creates_none(tmp_path: Path) -> None:
    fresh = Project(tmp_path)
    result = fresh.cli("graph", "zzz")
    assert result.code == 3 and "zzz: file not found" in result.stderr and "Traceback" not in result.stderr
    assert not fresh.home.exists() or not any(fresh.home.iterdir())
