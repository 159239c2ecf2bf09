"""The conformance table: Kestra's own test assertions (final state, task-run count, selected outputs) ported to
flowrun, one row per assertion, each naming the Kestra test class and method. A row either passes or is an
xfail(strict=True) with its reason (a deliberate difference, listed in the README). Rows run in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conformance_rows_basics import ROWS as BASICS
from conformance_rows_errors import ROWS as ERRORS
from conformance_rows_flowable import ROWS as FLOWABLE
from conformance_rows_inputs import ROWS as INPUTS
from conformance_rows_storage import ROWS as STORAGE
from conformance_rows_tasks import ROWS as TASKS
from conformance_table import FLOWS, Row, check
from http_fixture import HttpServer

from flowrun.tasks.registry import CORE, canonical
from flowrun.tasks.registry import TASKS as REGISTERED

CSV = "id,name,value\n1,foo,100\n2,bar,200\n3,baz,300\n"  # DownloadTest's sample.csv
ROWS: list[Row] = [*BASICS, *ERRORS, *FLOWABLE, *INPUTS, *STORAGE, *TASKS]


@pytest.fixture(scope="module")
def server() -> Iterator[HttpServer]:
    """One local HTTP server for the whole table (its shutdown takes half a second)."""
    http = HttpServer()
    http.routes["/data.txt"] = (200, {"Content-Type": "text/plain"}, "one\ntwo\nthree\n")
    http.routes["/json"] = (200, {"Content-Type": "application/json"}, '{"hello": "world"}')
    http.routes["/missing"] = (404, {"Content-Type": "text/plain"}, "not here")
    http.routes["/sample.csv"] = (200, {"Content-Type": "text/csv"}, CSV)
    http.routes["/500"] = (500, {"Content-Type": "text/plain"}, "boom")
    http.routes["/204"] = (204, {}, b"")
    http.routes["/417"] = (417, {"Content-Type": "application/json"}, '{"no": "way"}')
    http.routes["/disposition"] = (200, {"Content-Disposition": 'attachment; filename="filename.jpg"'}, "Hello World")
    http.routes["/echo"] = lambda seen: (200, {"Content-Type": "application/json"}, seen.body)
    http.routes["/ion"] = (200, {"Content-Type": "application/octet-stream"},
                           '{key:"a",v:1}\n{key:"b",v:2}\n{key:"a",v:3}\n{key:"c",v:4}\n')
    http.thread.start()
    try:
        yield http
    finally:
        http.httpd.shutdown()
        http.httpd.server_close()


@pytest.mark.parametrize("row", [row.param() for row in ROWS])
def test_row(row: Row, project: Any, server: HttpServer) -> None:
    check(row, project, {"base": server.base})


def test_table_size() -> None:
    assert len(ROWS) >= 150, len(ROWS)


def test_every_row_cites_a_kestra_test() -> None:
    for row in ROWS:
        assert "#" in row.cite and "Test" in row.cite.split("#")[0], row.cite
        assert (FLOWS / row.flow).is_file(), row.flow


def _types(row: Row) -> set[str]:
    import yaml

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("type"), str):
                found.add(canonical(node["type"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in (row.flow, *row.also, *row.templates):
        walk(yaml.safe_load((FLOWS / name).read_text(encoding="utf-8")))
    return found


def test_every_registered_core_type_has_a_passing_row() -> None:
    covered: set[str] = set()
    for row in ROWS:
        if not row.differs:
            covered |= _types(row)
    core = {name for name in REGISTERED if name.startswith(CORE + ".")}
    assert sorted(core - covered) == []


def test_every_difference_is_listed_in_the_readme() -> None:
    readme = " ".join((FLOWS.parents[2] / "README.md").read_text(encoding="utf-8").split())
    for row in ROWS:
        if row.differs:
            assert " ".join(row.differs.split()) in readme, row.differs
