"""Option values that make no sense are usage errors (exit 2) naming the option; the same in flowrun.yaml is a
config error (exit 3)."""

from __future__ import annotations

import pytest
from conftest import Project
from helpers import assert_clean_error


@pytest.mark.parametrize("value", ["0", "-2"])
def test_max_parallel_below_one_is_a_usage_error_and_runs_nothing(project: Project, value: str) -> None:
    project.flow_file("cli/labelled.yaml", "labelled.yaml", namespace="dev")
    assert_clean_error(project.cli("run", "flows/labelled.yaml", "--max-parallel", value), 2,
                       f"--max-parallel must be at least 1, got {value}", "leave it out for maxParallel")
    as_json = project.cli("run", "flows/labelled.yaml", "--max-parallel", value, "--json")
    assert as_json.code == 2 and as_json.json()["error"]["type"] == "UsageError"
    assert project.cli("executions", "list", "--json").json() == []
    assert project.cli("run", "flows/labelled.yaml", "--max-parallel", "1").code == 0


def test_max_parallel_zero_in_flowrun_yaml_is_a_config_error(project: Project) -> None:
    project.flow_file("cli/labelled.yaml", "labelled.yaml", namespace="dev")
    config = project.config("maxParallel: 0\n")
    assert_clean_error(project.cli("run", "flows/labelled.yaml"), 3, f"{config}:1", "maxParallel must be at least 1")


@pytest.mark.parametrize(("args", "option"), [
    (("kv", "set", "t", "k", "v", "--ttl", "PXD"), "--ttl: `PXD` is not an ISO-8601 duration"),
    (("kv", "set", "t", "k", "v", "--ttl", "P1M"), "--ttl: duration `P1M` uses years or months"),
    (("kv", "set", "t", "k", "v", "--ttl", "-PT5S"), "--ttl must be a positive duration"),
    (("venvs", "prune", "--older-than", "seven days"), "--older-than: `seven days` is not an ISO-8601 duration"),
    (("purge", "--before", "P3X", "--yes"), "--before: `P3X` is not an ISO-8601 duration"),
    (("executions", "list", "--since", "PT5Q"), "--since `PT5Q` is neither a date nor a duration"),
    (("executions", "list", "--until", "yesterday"), "--until `yesterday` is neither a date nor a duration"),
    (("backfill", "flows/scheduled.yaml", "--from", "P1D", "--to", "2024-01-02"), "`P1D` is not an ISO-8601 date"),
])
def test_a_bad_duration_or_date_option_is_a_usage_error(project: Project, args: tuple[str, ...], option: str) -> None:
    project.flow_file("cli/scheduled.yaml", "scheduled.yaml")
    assert_clean_error(project.cli(*args), 2, option)
    if args[0] == "kv":
        assert project.cli("kv", "get", "t", "k").code == 1  # nothing was stored
