"""The suite's xdist groups hold: tests that share a costly fixture (the GCP emulators, a scale-out cluster, the
benchmarks) run on one worker. pytest 9 with pytest-xdist 3.8 ignored every group without a word: four BigQuery
emulators and four copies of each module's cluster ran at once, and `make test` took minutes longer."""

from __future__ import annotations

import pytest

GROUP = "xdist-self-check"


@pytest.mark.xdist_group(GROUP)
def test_a_grouped_test_runs_under_its_group(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> None:
    assert request.node.get_closest_marker("xdist_group").args == (GROUP,)
    if getattr(pytestconfig.option, "loadgroup", False):  # an xdist worker of `--dist loadgroup` (make test)
        assert request.node.nodeid.endswith(f"@{GROUP}"), (
            f"xdist did not apply the group ({request.node.nodeid}): check the pytest / pytest-xdist versions")

