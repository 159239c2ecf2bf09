"""`test`: run flow unit tests (Kestra's format) and report each case, pytest-like; exit 0 when all pass."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer

from flowrun.cli.complete import flow_files
from flowrun.cli.options import Home

if TYPE_CHECKING:
    from flowrun.app.unit_tests import CaseResult

_MARK = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}


def unit_test(
    paths: Annotated[list[str] | None, typer.Argument(help="Test files or directories (default: the project's "
                                                      "tests/).", metavar="PATH...", show_default=False,
                                                      autocompletion=flow_files)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print every case and its assertions as JSON on "
                                              "stdout.")] = False,
    home: Home = None,
) -> None:
    """Run flow unit tests: YAML files with `id`, `namespace`, `flowId` and `testCases` (Kestra's format).

    Each case runs the flow once in its own state dir: `fixtures` give inputs, files and tasks that do not run
    (mocked with outputs and a state), then every assertion (`value` with equalTo, contains, isNotNull...) is
    checked. Exits 0 when every case passes, 1 otherwise.

    Example: flowrun test tests/hello_test.yaml --json
    """
    from flowrun.app.unit_tests import run_unit_tests

    start = time.monotonic()
    results = run_unit_tests(list(paths or []), home, on_case=None if json_output else _echo_case)
    if json_output:
        typer.echo(json.dumps({"passed": _count(results, "passed") == len(results) - _count(results, "skipped"),
                               "cases": [result.to_json() for result in results]}, indent=2, default=str))
    else:
        typer.echo(_summary(results, time.monotonic() - start))
    if any(result.outcome in ("failed", "error") for result in results):
        raise typer.Exit(1)


def _echo_case(result: CaseResult) -> None:
    took = f" ({result.seconds:.2f}s)" if result.outcome != "skipped" else ""
    typer.echo(f"{result.file}::{result.test_id}::{result.case_id} {_MARK[result.outcome]}{took}")
    if result.error:  # one line per problem, each under the case
        first, *rest = result.error.splitlines() or [""]
        typer.echo("\n".join([f"    error: {first}", *(f"           {line}" for line in rest)]))
    for item in result.assertions:
        if item.ok:
            continue
        where = f" [{item.task_id}]" if item.task_id else ""
        why = f" ({item.problem})" if item.problem else ""
        typer.echo(f"    {item.operator}{where}: expected {item.expected!r}, got {item.actual!r}{why}")
        for note in (item.description, item.error_message):
            if note:
                typer.echo(f"      {note}")
    if result.outcome == "failed" and result.execution_state not in (None, "SUCCESS", "WARNING"):
        typer.echo(f"    the execution ended {result.execution_state}")


def _count(results: list[CaseResult], outcome: str) -> int:
    return sum(1 for result in results if result.outcome == outcome)


def _summary(results: list[CaseResult], seconds: float) -> str:
    parts = [f"{_count(results, outcome)} {outcome}" for outcome in ("passed", "failed", "error", "skipped")
             if _count(results, outcome)]
    return f"=== {', '.join(parts) or 'no cases'} in {seconds:.2f}s ==="


def add_commands(app: typer.Typer) -> None:
    """Add `test` to the main CLI."""
    app.command("test")(unit_test)
