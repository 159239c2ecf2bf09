"""Benchmarks of script tasks: cached-venv reruns, a cold first venv build, and per-task overhead of 200 tasks."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowrun.app.run import run_flow

SCRIPT = "import requests\nprint(requests.__version__)\n"
#: benchmark projects live beside the repo, like a user's project (on these machines mkdir under /tmp costs
#: ~0.5 ms against ~0.03 ms elsewhere on the same disk, which would dominate per-task overhead)
BENCH_TMP = Path(os.environ.get("FLOWRUN_BENCH_TMP", Path(__file__).resolve().parents[1] / ".bench-tmp"))


def _workdir(prefix: str) -> Path:
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=BENCH_TMP))


def _flow(root: Path, name: str, text: str) -> Path:
    (root / "flows").mkdir(parents=True, exist_ok=True)
    path = root / "flows" / f"{name}.yaml"
    path.write_text(text)
    return path


def _python_flow(root: Path) -> Path:
    body = "".join(f"      {line}\n" for line in SCRIPT.splitlines())
    return _flow(root, "deps", "id: deps\nnamespace: bench\ntasks:\n  - id: py\n"
                 "    type: io.kestra.plugin.scripts.python.Script\n"
                 "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"
                 f"    dependencies:\n      - requests\n    script: |\n{body}")


def _attempt_seconds(execution: Any, task_id: str) -> float:
    if execution.state != "SUCCESS":
        raise RuntimeError(f"benchmark flow ended {execution.state}")
    run = next(tr for tr in execution.task_runs if tr.task_id == task_id)
    attempt = run.attempts[-1]
    return float((attempt.end_date - attempt.start_date).total_seconds())


def _execution_seconds(execution: Any) -> float:
    if execution.state != "SUCCESS":
        raise RuntimeError(f"benchmark flow ended {execution.state}")
    return float((execution.end_date - execution.start_date).total_seconds())


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _interleave(runs: int, flowrun_side: Callable[[], float], baseline_side: Callable[[], float]) -> dict[str, Any]:
    ours, base = [], []
    for _ in range(runs):
        ours.append(flowrun_side())
        base.append(baseline_side())
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    return {"runs": runs, "flowrun_s": ours, "baseline_s": base, "flowrun_median_s": round(m_ours, 4),
            "baseline_median_s": round(m_base, 4), "ratio": round(m_ours / m_base, 3) if m_base else None}


def bench_dependencies_second_run(tiny: bool = False) -> dict[str, Any]:
    """python.Script with `dependencies: [requests]`, venv already cached, vs the script in an existing venv."""
    work = _workdir("bench-deps-")
    try:
        flow = _python_flow(work)
        first = run_flow(flow)
        _attempt_seconds(first, "py")
        venv = next(p for p in (work / ".flowrun" / "venvs").glob("py*-*") if p.is_dir())
        script = work / "script.py"
        script.write_text(SCRIPT)

        def baseline() -> float:
            start = time.perf_counter()
            subprocess.run([str(venv / "bin" / "python"), str(script)], check=True, capture_output=True)
            return time.perf_counter() - start

        result = _interleave(1 if tiny else 7, lambda: _attempt_seconds(run_flow(flow), "py"), baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": "python task with dependencies [requests], second run",
            "command": "flowrun run flows/deps.yaml (python.Script, dependencies: [requests], Process runner)",
            "timed": "the task attempt (attempt start to end, from the execution record)",
            "baseline": "the same script run as a process with an existing venv's python",
            "goal": "<= 1.3x", "goal_ratio": 1.3, **result}


def bench_first_run_cold_cache(tiny: bool = False) -> dict[str, Any]:
    """First run with an empty uv cache and state dir, vs `python -m venv` + `pip install requests`."""

    def ours() -> float:
        work = _workdir("bench-cold-")
        try:
            with _env(UV_CACHE_DIR=str(work / "uv-cache")):
                return _attempt_seconds(run_flow(_python_flow(work)), "py")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def baseline() -> float:
        work = _workdir("bench-pip-")
        try:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, capture_output=True)
            subprocess.run([str(work / "venv" / "bin" / "pip"), "install", "--no-cache-dir", "requests"],
                           check=True, capture_output=True, env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
            subprocess.run([str(work / "venv" / "bin" / "python"), "-c", SCRIPT], check=True, capture_output=True)
            return time.perf_counter() - start
        finally:
            shutil.rmtree(work, ignore_errors=True)

    result = _interleave(1 if tiny else 5, ours, baseline)
    return {"name": "python task with dependencies [requests], first run, empty uv cache",
            "command": "UV_CACHE_DIR=<empty> flowrun run flows/deps.yaml (fresh state dir)",
            "timed": "the task attempt (venv build with uv + script run)",
            "baseline": "python -m venv + pip install --no-cache-dir requests + the script",
            "goal": "<= 0.15x", "goal_ratio": 0.15, **result}


def bench_200_shell_tasks(tiny: bool = False) -> dict[str, Any]:
    """200 sequential shell tasks running `true`, vs a Python loop of 200 `subprocess.run(["sh","-c","true"])`."""
    count = 20 if tiny else 200
    work = _workdir("bench-shell-")
    tasks = "".join(f"  - id: t{i}\n    type: io.kestra.plugin.scripts.shell.Commands\n"
                    f"    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"
                    f"    commands:\n      - \"true\"\n" for i in range(count))
    flow = _flow(work, "shell", f"id: shell\nnamespace: bench\ntasks:\n{tasks}")

    def baseline() -> float:
        start = time.perf_counter()
        for _ in range(count):
            subprocess.run(["sh", "-c", "true"], check=True)
        return time.perf_counter() - start

    try:
        run_flow(flow)  # warm imports
        result = _interleave(1 if tiny else 5, lambda: _execution_seconds(run_flow(flow)), baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": f"{count} sequential shell tasks running `true`",
            "command": f"flowrun run flows/shell.yaml ({count} x shell.Commands `true`, Process runner)",
            "timed": "the execution span (execution start to end, from the execution record)",
            "baseline": f"a Python loop of {count} subprocess.run(['sh', '-c', 'true'])",
            "goal": "<= 2.5x", "goal_ratio": 2.5, **result}


BENCHMARKS = [bench_dependencies_second_run, bench_first_run_cold_cache, bench_200_shell_tasks]


def run_all(tiny: bool = False) -> list[dict[str, Any]]:
    rows = [bench(tiny) for bench in BENCHMARKS]
    try:
        BENCH_TMP.rmdir()
    except OSError:
        pass
    return rows


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_scripts [--tiny]
    import json

    for row in run_all("--tiny" in sys.argv):
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, list)}, indent=2))
