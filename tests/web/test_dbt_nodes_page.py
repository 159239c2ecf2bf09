"""The dbt nodes of an execution, as a table of their own on the web execution page and in `flowrun report
--html`: node, resource type, status, duration and rows. A real dbt build of the small test project (the
shared dbt venv of tests/dbt_harness.py, never a new one) on the test Postgres, one test failing on the seed."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests
import yaml
from conftest import Project
from dbt_harness import DBT, FAIL_TEST, link_dbt_venv, postgres_profile, write_mini_project
from pg_fixture import PgDatabase
from web_harness import start_server

HEADER = ["dbt task", "Node", "Resource type", "Status", "Duration", "Rows"]


class _NodesTable(HTMLParser):
    """The rows of `table#dbt-nodes` as lists of cell texts, and the `data-node` of each node row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.nodes: list[str] = []
        self.depth = 0  # inside the table when > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == "dbt-nodes":
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
            if found.get("data-node"):
                self.nodes.append(str(found["data-node"]))
        elif self.depth and tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth = 0

    def handle_data(self, data: str) -> None:
        if self.depth and self.rows and self.rows[-1]:
            self.rows[-1][-1] = (self.rows[-1][-1] + " " + data.strip()).strip()


def _table(html: str) -> _NodesTable:
    table = _NodesTable()
    table.feed(html)
    assert table.rows and table.rows[0] == HEADER, html[-3000:]
    return table


def _dbt_execution(project: Project, db: PgDatabase) -> dict[str, Any]:
    write_mini_project(project.root / "namespace_files" / "dbt.test", FAIL_TEST)
    link_dbt_venv(project.home)
    task = {"id": "build", "type": f"{DBT}.DbtCLI", "namespaceFiles": {"enabled": True},
            "containerImage": "ghcr.io/kestra-io/dbt-postgres:latest", "commands": ["dbt build"],
            "profiles": postgres_profile(db.name, "nodes")}
    flow = project.root / "flows" / "mini.yaml"
    flow.write_text(yaml.safe_dump({"id": "mini", "namespace": "dbt.test", "tasks": [task]}, sort_keys=False))
    done = project.cli("run", str(flow), "--json", timeout=300)
    assert done.code == 1 and done.json()["state"] == "FAILED", done.stderr[-3000:]
    return dict(done.json())


def _check(table: _NodesTable) -> None:
    by_node = {row[1].split()[0]: row for row in table.rows[1:] if len(row) == len(HEADER)}
    assert table.nodes == list(by_node)  # one node row each, in dbt's order
    assert {".".join(node.split(".")[:3]) for node in by_node} == {  # generic tests end with a hash
        "seed.mini.people", "test.mini.no_low_scores", "model.mini.adults", "test.mini.unique_adults_id",
        "test.mini.not_null_adults_id"}
    seed, failed, model = by_node["seed.mini.people"], by_node["test.mini.no_low_scores"], by_node["model.mini.adults"]
    assert seed[0] == "build" and seed[2:4] == ["seed", "success"] and seed[5] == "3"
    assert '"nodes"."people"' in seed[1] and seed[4].endswith("s")  # the relation, and dbt's own duration
    assert failed[2:4] == ["test", "fail"]
    assert model[2:4] == ["model", "skipped"] and model[5] == "-"
    messages = [row[-1] for row in table.rows[1:] if len(row) == 2]
    assert messages == ["Got 1 result, configured to fail if != 0"]  # the failed node's error, under its row


def test_the_execution_page_and_the_report_show_the_dbt_nodes(project: Project, pg_db: PgDatabase,
                                                              tmp_path: Path) -> None:
    execution = _dbt_execution(project, pg_db)
    target = tmp_path / "report.html"
    made = project.cli("report", execution["id"], "--html", str(target))
    assert made.code == 0, made.stderr
    report = target.read_text(encoding="utf-8")
    _check(_table(report))
    assert "<p class=\"muted\" id=\"dbt-counts\">5 nodes: 1 SUCCESS, 1 FAILED, 3 SKIPPED</p>" in report
    server = start_server(project)
    try:
        page = requests.get(f"{server.url}/executions/{execution['id']}", timeout=30)
    finally:
        server.stop()
    assert page.status_code == 200
    _check(_table(page.text))


def test_an_execution_without_dbt_has_no_dbt_section(project: Project, tmp_path: Path) -> None:
    project.flow_file("cli/labelled.yaml", "labelled.yaml", namespace="dev")
    execution_id = project.cli("run", "flows/labelled.yaml", "--json").json()["id"]
    target = tmp_path / "report.html"
    assert project.cli("report", execution_id, "--html", str(target)).code == 0
    assert "dbt nodes" not in target.read_text(encoding="utf-8")
