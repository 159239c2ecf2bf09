"""Fuzz `flowrun render` with grammar templates: no traceback, no internal error, exit 0-5, 10 s, 500 MB."""

from __future__ import annotations

import pytest
from hypothesis import given

from .fuzz_harness import Outcome, check, fuzz_settings
from .fuzz_templates import contexts, fuzz_templates


def render_checks(outcome: Outcome) -> list[str]:
    """A template error is the user's input, not flowrun's state: render never exits 4."""
    return ["render exited 4 (state failure)"] if outcome.code == 4 else []


@pytest.mark.slow
@fuzz_settings(300)
@given(template=fuzz_templates(), context=contexts())
def test_render_never_crashes(fuzz_project, template: str, context: list[str]) -> None:
    case = fuzz_project.case(["render", template.replace("\x00", ""), *context], "render")
    check(fuzz_project.worker.run, case, render_checks)
