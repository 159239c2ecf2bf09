"""`flowrun test`: Kestra-format flow unit tests, each case an isolated execution with fixtures and assertions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, CliResult, Project

UNIT_PROJECT = ROOT / "tests" / "flows" / "cli" / "unit_project"


def test_the_example_tests_of_flows_hello_pass_where_flowrun_test_finds_them() -> None:
    done = subprocess.run([sys.executable, "-m", "flowrun", "test"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for case in ("greets_with_the_default_name", "greets_the_name_given", "a_mocked_recall_is_used_downstream"):
        assert f"tests/flow_unit_tests/hello.yaml::hello_tests::{case} PASSED" in done.stdout, case
    assert lines[-1].startswith("=== 3 passed in ")  # the nested unit_project's own tests are not collected


def _unit_project(tmp_path: Path) -> Project:
    root = tmp_path / "shop"
    shutil.copytree(UNIT_PROJECT, root)
    return Project(root)


def test_mocked_tasks_do_not_run_and_a_failing_assertion_fails_the_run(tmp_path: Path) -> None:
    project = _unit_project(tmp_path)
    result = project.cli("test", "--json")
    assert result.code == 1, result.stderr
    cases = {case["caseId"]: case for case in result.json()["cases"]}
    mocked = cases["counts_the_mocked_file"]
    assert mocked["outcome"] == "passed" and mocked["executionState"] == "SUCCESS"  # notify (Fail) did not run
    assert [(a["operator"], a["actual"], a["isSuccess"]) for a in mocked["assertions"]] == [
        ("equalTo", "5", True), ("greaterThanOrEqualTo", "5", True), ("lessThanOrEqualTo", "5", True)]
    failing = cases["real_extract_with_a_failing_assertion"]
    assert failing["outcome"] == "failed" and failing["executionState"] == "WARNING"  # the mocked state
    first, second = failing["assertions"]
    assert (first["operator"], first["expected"], first["actual"], first["isSuccess"]) == ("equalTo", 3, "2", False)
    assert first["errorMessage"] == "count should read what extract wrote" and second["isSuccess"] is True
    assert cases["notify_runs_for_real_and_fails"]["outcome"] == "passed"
    assert cases["switched_off"]["outcome"] == "skipped" and cases["switched_off"]["executionId"] is None
    ids = {case["executionId"] for case in cases.values() if case["executionId"]}
    assert len(ids) == 3
    assert not (project.home / "state.db").exists()  # every case ran in a state dir of its own


def test_the_text_report_reads_like_pytest(tmp_path: Path) -> None:
    project = _unit_project(tmp_path)
    result = project.cli("test", "tests/orders_test.yaml")
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tests/orders_test.yaml::orders_tests::counts_the_mocked_file PASSED (")
    assert lines[1].startswith("tests/orders_test.yaml::orders_tests::real_extract_with_a_failing_assertion FAILED")
    assert lines[2:5] == ["    equalTo: expected 3, got '2'", "      the real file holds two orders",
                          "      count should read what extract wrote"]
    assert "::switched_off SKIPPED" in lines[-2]
    assert lines[-1].startswith("=== 2 passed, 1 failed, 1 skipped in ")


def _cli(project: Project, *args: str) -> CliResult:
    return project.cli("test", *args)


def test_an_invalid_test_file_is_an_error_with_its_location(tmp_path: Path) -> None:
    project = _unit_project(tmp_path)
    result = _cli(project, "broken/bad.yaml")  # outside tests/: `flowrun test` alone does not collect it
    assert result.code == 1 and "broken/bad.yaml::bad::- ERROR" in result.stdout
    assert "bad.yaml:6:5" in result.stdout and "fixture" in result.stdout and "Traceback" not in result.stderr
    two = _cli(project, "broken/two.yaml").stdout.splitlines()  # every problem indented under its case
    assert two[0].startswith("broken/two.yaml::two::- ERROR (") and two[1].startswith("    error: broken/two.yaml:")
    assert two[2].startswith("           broken/two.yaml:") and two[3].startswith("=== 1 error in ")
    assert _cli(project, "tests/missing.yaml").code == 2
    shutil.rmtree(project.root / "tests")
    empty = _cli(project)
    assert empty.code == 2 and "no test files found" in empty.stderr
