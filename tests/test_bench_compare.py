"""bench/compare_commits.py: the two trees alternate, who goes first swaps, and the report shows the ratios."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.compare_commits import TOLERANCE, Tree, alternate, render, verdict


def test_the_sides_alternate_and_the_first_side_swaps_every_round() -> None:
    calls: list[str] = []

    def side(name: str, seconds: float):
        def run() -> float:
            calls.append(name)
            return seconds
        return run

    olds, news = alternate(4, side("old", 1.0), side("new", 2.0))
    assert calls == ["old", "new", "new", "old", "old", "new", "new", "old"]
    assert olds == [1.0] * 4 and news == [2.0] * 4


def test_the_report_shows_medians_ratios_samples_and_the_load() -> None:
    old, new = Tree("dd3813b", Path("/old"), Path("/old/python")), Tree("abc1234", Path("/new"), Path("/p"))
    rows = [{"name": "cold hello", "timed": "process start to exit", "runs": 3, "old_s": [0.3, 0.2, 0.4],
             "new_s": [0.2, 0.25, 0.3], "old_median_s": 0.3, "new_median_s": 0.25, "ratio": 0.25 / 0.3},
            {"name": "backfill", "timed": "process start to exit", "runs": 1, "old_s": [12.0], "new_s": [14.0],
             "old_median_s": 12.0, "new_median_s": 14.0, "ratio": 14.0 / 12.0}]
    text = render(rows, old, new, datetime(2026, 12, 1, 16, 30, tzinfo=UTC), ("4.0, 3.0, 2.0", "5.0, 4.0, 3.0"))
    assert "| cold hello | 0.3000 s | 0.2500 s | 0.833 | no slower |" in text
    assert "| backfill | 12.0000 s | 14.0000 s | 1.167 | SLOWER |" in text
    assert "`python -m bench.compare_commits dd3813b`" in text and "(`abc1234`)" in text
    assert "4.0, 3.0, 2.0 at the start, 5.0, 4.0, 3.0 at the end" in text
    assert "- **`dd3813b`:** 0.3000, 0.2000, 0.4000" in text
    assert verdict(TOLERANCE) == "no slower" and verdict(TOLERANCE + 0.01) == "SLOWER"
