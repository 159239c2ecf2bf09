"""Benchmarks of flowables: a bounded Parallel of sleeps against its ideal span, and a 10,000-value ForEach's RSS."""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

#: benchmark projects live beside the repo, like a user's project (see bench_scripts.py for why not /tmp)
BENCH_TMP = Path(os.environ.get("FLOWRUN_BENCH_TMP", Path(__file__).resolve().parents[1] / ".bench-tmp"))
RSS_BUDGET_MB = 300.0
SPAN_GOAL = 1.15


def _project(prefix: str) -> Path:
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=BENCH_TMP))
    (root / "flows").mkdir()
    return root


def _run_cli(root: Path, flow: Path, *args: str) -> tuple[int, Any]:
    """`flowrun run` in a child process; returns its exit code and its own resource usage (os.wait4)."""
    env = {**os.environ, "FLOWRUN_HOME": str(root / ".flowrun")}
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", str(flow), *args], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"flowrun run {flow.name} exited {proc.returncode}: {stderr.decode()[-2000:]}")
    return proc.returncode, usage


def _last_execution(root: Path) -> dict[str, Any]:
    """The most recent execution of the project, as recorded in its state DB."""
    from flowrun.app.inspect import list_executions, show_execution

    home = str(root / ".flowrun")
    latest = list_executions(home, None, None, 1)[0]
    return show_execution(home, latest["id"])


def _span(execution: dict[str, Any]) -> float:
    if execution["state"] != "SUCCESS":
        raise RuntimeError(f"benchmark execution ended {execution['state']}: {execution.get('error')}")
    start = datetime.fromisoformat(execution["startDate"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(execution["endDate"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def parallel_flow(count: int, concurrent: int, duration: str, shell: bool = False) -> str:
    if shell:  # the same wave of sleeps as real processes: `sleep N` in shell tasks
        seconds = duration.removeprefix("PT").removesuffix("S")
        children = "".join(f"      - id: sleep_{i:02d}\n        type: io.kestra.plugin.scripts.shell.Commands\n"
                           "        taskRunner:\n          type: io.kestra.plugin.core.runner.Process\n"
                           f"        commands: [\"sleep {seconds}\"]\n" for i in range(count))
    else:
        children = "".join(f"      - id: sleep_{i:02d}\n        type: io.kestra.plugin.core.flow.Sleep\n"
                           f"        duration: {duration}\n" for i in range(count))
    return ("id: parallel_sleeps\nnamespace: bench\ntasks:\n  - id: parallel\n"
            f"    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {concurrent}\n    tasks:\n{children}")


def bench_parallel_sleeps(tiny: bool = False, shell: bool = False) -> dict[str, Any]:
    """N sleeps in a Parallel bounded by `concurrent`: execution span (state DB) vs waves x duration.

    `shell` runs each sleep as a shell task (`sleep 1`) instead of `flow.Sleep`."""
    count, concurrent, seconds = (4, 2, 0.1) if tiny else (16, 8, 1.0)
    duration = f"PT{seconds:g}S"
    ideal = math.ceil(count / concurrent) * seconds
    root = _project("bench-parallel-")
    try:
        flow = root / "flows" / "parallel_sleeps.yaml"
        flow.write_text(parallel_flow(count, concurrent, duration, shell))
        samples = []
        for _ in range(1 if tiny else 3):
            _run_cli(root, flow)  # the defaults a user gets: no --max-parallel
            samples.append(round(_span(_last_execution(root)), 4))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    span = statistics.median(samples)
    ratio = span / ideal
    kind = f"shell `sleep {seconds:g}`" if shell else f"flow.Sleep {duration}"
    return {"name": f"{count} x {kind} in a Parallel with concurrent: {concurrent}",
            "command": "flowrun run flows/parallel_sleeps.yaml (default settings)",
            "span": round(span, 4), "baseline": ideal, "ratio": round(ratio, 3),
            "goal": f"<= {SPAN_GOAL}x the ideal {ideal:g} s ({math.ceil(count / concurrent)} waves of {duration})",
            "passed": ratio <= SPAN_GOAL, "samples": samples,
            "note": "span = execution endDate - startDate from the state DB; median of the samples"}


def foreach_flow(count: int) -> str:
    return ("id: foreach_values\nnamespace: bench\ntasks:\n  - id: each\n"
            "    type: io.kestra.plugin.core.flow.ForEach\n"
            f"    values: \"{{{{ range(1, {count}) }}}}\"\n    tasks:\n"
            "      - id: ret\n        type: io.kestra.plugin.core.debug.Return\n"
            "        format: \"{{ taskrun.value }}\"\n")


def bench_foreach_rss(tiny: bool = False) -> dict[str, Any]:
    """A ForEach over N values with a Return inside, run by `flowrun run`: the child's peak RSS and time/iteration."""
    count = 200 if tiny else 10_000
    root = _project("bench-foreach-")
    try:
        flow = root / "flows" / "foreach_values.yaml"
        flow.write_text(foreach_flow(count))
        _, usage = _run_cli(root, flow)
        execution = _last_execution(root)
        span = _span(execution)
        task_runs = len(execution["taskRuns"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if task_runs != count + 1:
        raise RuntimeError(f"expected {count + 1} task runs, found {task_runs}")
    peak_mb = usage.ru_maxrss / 1024  # Linux reports kilobytes
    return {"name": f"ForEach over {count:,} values with a Return inside",
            "command": "flowrun run flows/foreach_values.yaml",
            "span": round(span, 3), "baseline": RSS_BUDGET_MB, "ratio": round(peak_mb / RSS_BUDGET_MB, 3),
            "goal": f"peak RSS <= {RSS_BUDGET_MB:g} MB", "passed": peak_mb <= RSS_BUDGET_MB,
            "samples": [round(peak_mb, 1)], "peak_rss_mb": round(peak_mb, 1),
            "per_iteration_ms": round(span / count * 1000, 3), "task_runs": task_runs,
            "note": "peak RSS of the `flowrun run` process (os.wait4 ru_maxrss); span from the state DB"}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    """Both issue-3 figures; `tiny` shrinks them (4 sleeps of PT0.1S, 200 values) for a smoke run."""
    return [bench_parallel_sleeps(tiny), bench_parallel_sleeps(tiny, shell=True), bench_foreach_rss(tiny)]


if __name__ == "__main__":
    print(json.dumps(run("--tiny" in sys.argv), indent=2))
