"""Fuzz `flowrun validate` with mutated real flows: every file gets `ok` or located problems, exit 0 or 3."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz_flows import mutated_flows
from .fuzz_harness import Outcome, check, fuzz_settings

_COUNTER = itertools.count()


def validate_checks(path: str, neighbours: bool, outcome: Outcome) -> list[str]:
    """What `validate` promises beyond the common contract."""
    code, stdout, stderr = outcome.code, outcome.stdout, outcome.stderr
    if code is None:
        return []
    if code not in (0, 3):
        return [f"validate exited {code}, not 0 (valid) or 3 (invalid)"]
    if code == 0 and f"ok  {path}" not in stdout:
        return ["validate exited 0 without saying `ok` for the file"]
    if code == 3 and path not in stderr:
        return ["validate exited 3 without naming the file in its problems"]
    if neighbours and "ok  flows/hello.yaml" not in stdout:
        return ["one bad file hid the result of the other files"]
    return []


@pytest.mark.slow
@fuzz_settings(300)
@given(flow=mutated_flows(), neighbours=st.booleans())
def test_validate_never_crashes(fuzz_project, flow: tuple[str, bytes], neighbours: bool) -> None:
    source, raw = flow
    path = f"cases/v{next(_COUNTER)}_{source}"
    (fuzz_project.root / path).write_bytes(raw)
    argv = ["validate", "flows/hello.yaml", path, "flows/fail.yaml"] if neighbours else ["validate", path]
    case = fuzz_project.case(argv, "validate", {path: raw})
    check(fuzz_project.worker.run, case, lambda outcome: validate_checks(path, neighbours, outcome))
    (fuzz_project.root / path).unlink()
