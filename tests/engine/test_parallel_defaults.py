"""The global cap on running task attempts does not throttle a flow's own `concurrent` with the defaults."""

from __future__ import annotations

from typing import Any

from helpers import max_overlap

from flowrun.engine.launch import default_max_parallel


def _sleeps(count: int, concurrent: int) -> str:
    children = "".join(f"      - id: s{i}\n        type: io.kestra.plugin.core.flow.Sleep\n        duration: PT0.3S\n"
                       for i in range(count))
    return ("id: fan\nnamespace: perf\ntasks:\n  - id: parallel\n    type: io.kestra.plugin.core.flow.Parallel\n"
            f"    concurrent: {concurrent}\n    tasks:\n{children}")


def _peak(ex: Any) -> int:
    """The most sleeps running at once: their attempts start when a slot is free (the task run is CREATED before)."""
    assert ex.state == "SUCCESS"
    return max_overlap([tr.attempts[0] for tr in ex.task_runs if tr.task_id.startswith("s")])


def test_default_cap_is_generous_on_any_machine() -> None:
    assert default_max_parallel() >= 32


def test_parallel_concurrent_8_runs_8_at_once_with_defaults(project: Any) -> None:
    ex = project.run(project.flow(_sleeps(8, 8)))
    assert _peak(ex) == 8


def test_max_parallel_in_flowrun_yaml_still_lowers_it(project: Any) -> None:
    project.config("maxParallel: 3\n")
    ex = project.run(project.flow(_sleeps(6, 8)))
    assert _peak(ex) == 3


def test_max_parallel_option_still_lowers_it(project: Any) -> None:
    ex = project.run(project.flow(_sleeps(6, 8)), max_parallel=2)
    assert _peak(ex) == 2
