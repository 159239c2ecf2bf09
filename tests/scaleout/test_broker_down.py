"""A broker that cannot be reached fails each enqueuing command with a clear error (exit 4) before it records
anything, and what was recorded before stays as it was."""

from __future__ import annotations

import json

import pytest
from conftest import Project
from gcp_emulators import free_port
from helpers import assert_clean, flow_text

COMMANDS = [
    ("run", "flows/hello.yaml"),
    ("run", "flows/hello.yaml", "--detach"),
    ("backfill", "flows/daily.yaml", "--from", "2024-01-01", "--to", "2024-01-03"),
    ("tick", "--now", "2024-02-01T09:00:10Z"),
]


@pytest.mark.parametrize("scheme", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"])
def test_a_broker_that_is_down_fails_the_command_with_exit_4_and_loses_nothing(project: Project,
                                                                               scheme: str) -> None:
    broker = scheme.format(port=free_port())
    project.config(f"executor:\n  type: celery\n  broker: {broker}\n")
    project.flow(flow_text("scaleout/hello.yaml"), "hello.yaml")
    project.flow(flow_text("scaleout/daily.yaml"), "daily.yaml")
    earlier = project.cli("run", "flows/hello.yaml", "--json", env={"FLOWRUN_EXECUTOR": "local"})
    assert_clean(earlier, 0)

    for args in COMMANDS:
        result = project.cli(*args)
        assert_clean(result, 4)
        assert "cannot reach the Celery broker" in result.stderr, (args, result.stderr)
        assert "guest:guest" not in result.stderr  # the password is masked

    listed = project.cli("executions", "list", "--json")
    assert_clean(listed, 0)
    assert [(row["id"], row["state"]) for row in json.loads(listed.stdout)] == [(json.loads(earlier.stdout)["id"],
                                                                                 "SUCCESS")]
