"""Benchmark of backfill: a monthly flow of one `flow.Sleep PT2S`, 24 months with `--parallel 4`, vs the ideal 12 s."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import interleave, timed, workdir

#: `flowrun` run as `python -c` (the schedule commands are part of flowrun.cli)
CLI = "from flowrun.cli import main\nmain()\n"
FLOW = """id: monthly
namespace: bench
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: {duration}
triggers:
  - id: monthly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@monthly"
"""
PARALLEL = 4


def _backfill_once(work: Path, index: int, months: int, duration: str) -> float:
    project = work / f"project-{index}"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "monthly.yaml").write_text(FLOW.format(duration=duration), encoding="utf-8")
    end = f"{2019 + (months - 1) // 12}-{(months - 1) % 12 + 1:02d}-01"
    args = [sys.executable, "-c", CLI, "backfill", "flows/monthly.yaml", "--from", "2019-01-01", "--to", end,
            "--parallel", str(PARALLEL)]
    env = {**os.environ, "FLOWRUN_HOME": str(project / ".flowrun")}
    try:
        return timed(lambda: subprocess.run(args, cwd=project, env=env, check=True, capture_output=True))
    finally:
        shutil.rmtree(project, ignore_errors=True)


def run(tiny: bool = False) -> list[dict[str, Any]]:
    months, seconds = (2, 0.1) if tiny else (24, 2.0)
    ideal = -(-months // PARALLEL) * seconds
    work = workdir("bench-backfill-")
    counter = iter(range(1_000))
    try:
        result = interleave(1 if tiny else 3,
                            lambda: _backfill_once(work, next(counter), months, f"PT{seconds:g}S"), None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = result["flowrun_median_s"]
    return [{
        "name": f"backfill {months} monthly dates of one `flow.Sleep PT{seconds:g}S`, --parallel {PARALLEL}",
        "command": f"flowrun backfill flows/monthly.yaml --from 2019-01-01 --to ... --parallel {PARALLEL}",
        "timed": "the backfill process, start to exit (wall clock): planning, claims, worker start, every date",
        "baseline": f"the ideal: {months} dates x {seconds:g} s / {PARALLEL} at once = {ideal:g} s",
        "goal": "<= 1.25x the ideal", "goal_ratio": 1.25, **result,
        "baseline_median_s": ideal, "ratio": round(median / ideal, 3),
    }]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_schedule [--tiny]
    import json

    print(json.dumps(run("--tiny" in sys.argv), indent=2))
