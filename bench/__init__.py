"""Benchmarks: each `bench/bench_*.py` module returns figures; `python -m bench` writes docs/BENCHMARKS.md.

A module exposes `run(tiny: bool) -> list[dict]` (or `run_all(tiny)`). Each dict is one figure:

- `name`, `command` (what flowrun runs), `timed` (the span measured), `baseline` (the command compared
  against, or None), `goal` (text);
- `runs`, `flowrun_s` and `baseline_s` (every sample, seconds, interleaved), `flowrun_median_s`,
  `baseline_median_s`, `ratio` (flowrun median / baseline median);
- either `goal_ratio` (pass when ratio <= goal_ratio) or `figure`, `unit` and `goal_max` for an absolute
  figure (pass when figure <= goal_max).

`tiny=True` runs each figure once at a small size, so `make test` keeps the benchmarks working.
Rows in an older shape (`span`, `samples`, `note`, a numeric `baseline`, `passed`) are mapped by `normalize`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: benchmark projects live beside the repo, like a user's project (see bench_scripts.py for why not /tmp)
BENCH_TMP = Path(os.environ.get("FLOWRUN_BENCH_TMP", ROOT / ".bench-tmp"))


def workdir(prefix: str) -> Path:
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=BENCH_TMP))


def timed(action: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleave(runs: int, ours: Callable[[], float], base: Callable[[], float] | None) -> dict[str, Any]:
    """Run both sides alternately `runs` times; each callable returns the seconds of its timed span."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        mine.append(ours())
        if base is not None:
            theirs.append(base())
    m = statistics.median(mine)
    b = statistics.median(theirs) if theirs else None
    return {"runs": runs, "flowrun_s": [round(x, 4) for x in mine], "baseline_s": [round(x, 4) for x in theirs],
            "flowrun_median_s": round(m, 4), "baseline_median_s": round(b, 4) if b is not None else None,
            "ratio": round(m / b, 3) if b else None}


def passed(row: dict[str, Any]) -> bool | None:
    """Whether a figure meets its goal; None when it states none that can be checked."""
    if isinstance(row.get("passed"), bool):
        return bool(row["passed"])
    if row.get("goal_ratio") is not None and row.get("ratio") is not None:
        return bool(row["ratio"] <= row["goal_ratio"])
    if row.get("goal_max") is not None and row.get("figure") is not None:
        return bool(row["figure"] <= row["goal_max"])
    return None


def normalize(row: dict[str, Any]) -> dict[str, Any]:
    """Map the older row shape (`span`, `samples`, `note`, a numeric `baseline`) onto the documented keys."""
    result = dict(row)
    if "flowrun_s" not in result and isinstance(result.get("samples"), list):
        result["flowrun_s"] = result["samples"]
    if "flowrun_median_s" not in result and isinstance(result.get("span"), int | float):
        result["flowrun_median_s"] = result["span"]
    if "runs" not in result and isinstance(result.get("flowrun_s"), list):
        result["runs"] = len(result["flowrun_s"])
    if "timed" not in result and result.get("note"):
        result["timed"] = result["note"]
    baseline = result.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        result["baseline"] = f"a fixed reference of {baseline:g}" if isinstance(baseline, int | float) else str(baseline)
        result.setdefault("baseline_median_s", None)
    result.setdefault("baseline_s", [])
    return result
