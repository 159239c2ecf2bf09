"""Every benchmark module runs once at a tiny size, so `make bench` keeps working; the report renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench import passed
from bench.__main__ import module_names, render, run_module

#: the modules share the bench dir (bench.BENCH_TMP, removed when empty) and load the machine: one xdist worker
pytestmark = pytest.mark.xdist_group("bench")

REQUIRED = {"name", "command", "timed", "baseline", "goal", "runs", "flowrun_median_s"}


def test_core_module_is_found() -> None:
    assert "bench.bench_core" in module_names()


@pytest.mark.slow
@pytest.mark.parametrize("name", module_names())
def test_module_runs_tiny(name: str) -> None:
    rows = run_module(name, tiny=True)
    assert rows, f"{name} returned no figure"
    for row in rows:
        assert "error" not in row, row.get("traceback")
        assert REQUIRED <= set(row), f"{name}: {row.get('name')} misses {REQUIRED - set(row)}"
        assert row["flowrun_median_s"] > 0
        if not row.get("reference"):  # reference rows explain another figure and carry no goal
            assert passed(row) is not None, f"{row['name']}: no checkable goal"
        if row.get("baseline_s"):
            assert row["baseline_median_s"] > 0 and row["ratio"] is not None


def test_report_shape() -> None:
    rows: list[dict[str, Any]] = [
        {"module": "bench.x", "name": "ratio figure", "command": "flowrun run a.yaml", "timed": "process",
         "baseline": "python -c pass", "goal": "<= 1.5x", "goal_ratio": 1.5, "runs": 5,
         "flowrun_s": [1.0] * 5, "baseline_s": [0.5] * 5, "flowrun_median_s": 1.0, "baseline_median_s": 0.5,
         "ratio": 2.0},
        {"module": "bench.x", "name": "absolute figure", "command": "flowrun run b.yaml", "timed": "span",
         "baseline": None, "goal": "<= 2 ms per task", "figure": 1.5, "unit": "ms/task", "goal_max": 2.0,
         "runs": 5, "flowrun_s": [1.5] * 5, "baseline_s": [], "flowrun_median_s": 1.5, "baseline_median_s": None,
         "ratio": None},
        {"module": "bench.y", "name": "bench.y", "error": "RuntimeError: no server", "traceback": "Traceback ..."},
    ]
    text = render(rows, datetime(2026, 1, 2, 3, 4, tzinfo=UTC), 12.0, tiny=False)
    assert "2026-01-02 03:04 UTC" in text and "**Machine:**" in text
    assert "- **See also:** [BENCHMARKS-dbt.md](BENCHMARKS-dbt.md), " in text  # the reports beside it
    assert "| ratio figure | 1 s | 0.5 s | 2.0 | <= 1.5x | FAIL |" in text
    assert "| absolute figure | 1.5 s (1.5 ms/task) | – | – | <= 2 ms per task | pass |" in text
    assert "- **Command:** `flowrun run a.yaml`" in text and "- **Timed span:** process" in text
    assert "- **Baseline:** `python -c pass`" in text and "- **Ratio:** 2.0" in text
    assert "- **Runs:** 5, interleaved" in text
    assert "| bench.y |" in text and "ERROR" in text and "RuntimeError: no server" in text
