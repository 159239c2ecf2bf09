"""Fuzz the whole CLI with argument lists drawn from the typer app: no traceback, no internal error, exit 0-5."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz_args import cli_arguments
from .fuzz_harness import Outcome, check, fuzz_settings


def cli_checks(argv: list[str], outcome: Outcome) -> list[str]:
    """Exit 4 means flowrun's own state failed: with the healthy default state dir, nothing should exit 4."""
    uses_home = any(a == "--home" or a.startswith("--home=") for a in argv)
    if outcome.code == 4 and not uses_home:
        return ["exit 4 (state failure) while the state dir is healthy"]
    return []


@pytest.mark.slow
@fuzz_settings(300)
@given(data=st.data())
def test_cli_never_crashes(fuzz_project, data: st.DataObject) -> None:
    argv = data.draw(cli_arguments(fuzz_project.executions), label="argv")
    fuzz_project.restore_damage(argv)
    case = fuzz_project.case(argv, "cli")
    check(fuzz_project.worker.run, case, lambda outcome: cli_checks(argv, outcome))
