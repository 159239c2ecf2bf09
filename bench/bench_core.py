"""Benchmarks of the core engine: a cold `flowrun run flows/hello.yaml`, and the per-task cost of 1,000 Returns."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import BENCH_TMP, ROOT, interleave, timed, workdir

IMPORT_FLOOR = "import typer, pydantic, yaml, jinja2, sqlite3"


def _flowrun_command() -> list[str]:
    """The installed console script when there is one (what a user types), else `python -m flowrun`."""
    script = Path(sys.executable).with_name("flowrun")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "flowrun"]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "FLOWRUN_HOME": str(home)}


def _run_cold_hello(work: Path, index: int) -> float:
    home = work / f"home-{index}"
    try:
        return timed(lambda: subprocess.run([*_flowrun_command(), "run", "flows/hello.yaml"], cwd=ROOT,
                                            env=_env(home), check=True, capture_output=True))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def bench_cold_hello(tiny: bool = False) -> dict[str, Any]:
    """A fresh process and a fresh state dir per run, against importing the mandated stack."""
    work = workdir("bench-cold-hello-")
    counter = iter(range(1_000))

    def ours() -> float:
        return _run_cold_hello(work, next(counter))

    def base() -> float:
        return timed(lambda: subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True, capture_output=True))

    try:
        if not tiny:  # one untimed run of each side, so both start with the same warm page cache
            ours()
            base()
        result = interleave(1 if tiny else 11, ours, base)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": "cold `flowrun run flows/hello.yaml`",
            "command": f"{' '.join(Path(p).name if i == 0 else p for i, p in enumerate(_flowrun_command()))} "
                       "run flows/hello.yaml (fresh FLOWRUN_HOME each run)",
            "timed": "process start to exit (wall clock): imports, project discovery, state DB creation and "
                     "migrations, validation, the 5 tasks, recording",
            "baseline": f'python -c "{IMPORT_FLOOR}"',
            "goal": "<= 1.5x", "goal_ratio": 1.5, **result}


MODEL_FLOOR = IMPORT_FLOOR + "\nfrom pydantic import BaseModel\nclass M(BaseModel):\n    x: int\nM(x=1)"


def bench_pydantic_floor(tiny: bool = False) -> dict[str, Any]:
    """Reference: what defining and validating one pydantic model adds to the import floor.

    flowrun validates flows with pydantic models (the mandated stack), so this is the least any run pays.
    """
    def model() -> float:
        return timed(lambda: subprocess.run([sys.executable, "-c", MODEL_FLOOR], check=True, capture_output=True))

    def base() -> float:
        return timed(lambda: subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True, capture_output=True))

    result = interleave(1 if tiny else 11, model, base)
    return {"name": "reference: the import floor plus one pydantic model validated",
            "command": 'python -c "import typer, pydantic, yaml, jinja2, sqlite3; class M(BaseModel): ...; M(x=1)"',
            "timed": "process start to exit (wall clock)", "baseline": f'python -c "{IMPORT_FLOOR}"',
            "goal": "none: a reference for the cold-run figure", "goal_ratio": None, "reference": True,
            "note": "the smallest cost of using a pydantic model at all (pydantic.main, its schema machinery "
                    "and plugin loader are imported lazily by `import pydantic`)", **result}


def _returns_flow(root: Path, count: int) -> Path:
    tasks = "".join(f"  - id: r{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{{{ flow.id }}}}-{i}\"\n"
                    for i in range(count))
    path = root / "flows" / "returns.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"id: returns\nnamespace: bench\ntasks:\n{tasks}", encoding="utf-8")
    return path


def _execution_span(db: Path, expected_tasks: int) -> float:
    """The execution span recorded in the state DB, after checking every task run was recorded SUCCESS."""
    with sqlite3.connect(db) as conn:
        [(state, start, end)] = conn.execute("SELECT state, start_date, end_date FROM executions").fetchall()
        [(succeeded,)] = conn.execute("SELECT count(*) FROM task_runs WHERE state = 'SUCCESS'").fetchall()
    if state != "SUCCESS" or succeeded != expected_tasks:
        raise RuntimeError(f"execution {state} with {succeeded}/{expected_tasks} successful task runs")
    return (_parse(end) - _parse(start)).total_seconds()


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def bench_many_returns(tiny: bool = False) -> dict[str, Any]:
    """1,000 sequential debug.Return tasks: the engine's own cost per task, everything recorded in SQLite."""
    count = 20 if tiny else 1_000
    work = workdir("bench-returns-")
    _returns_flow(work, count)
    counter = iter(range(1_000))

    def ours() -> float:
        home = work / f"home-{next(counter)}"
        try:
            subprocess.run([*_flowrun_command(), "run", "flows/returns.yaml"], cwd=work, env=_env(home),
                           check=True, capture_output=True)
            return _execution_span(home / "state.db", count)
        finally:
            shutil.rmtree(home, ignore_errors=True)

    try:
        result = interleave(1 if tiny else 5, ours, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_task_ms = round(result["flowrun_median_s"] / count * 1000, 3)
    return {"name": f"{count:,} sequential `debug.Return` tasks",
            "command": f"flowrun run flows/returns.yaml ({count:,} x debug.Return, fresh FLOWRUN_HOME each run)",
            "timed": "the execution span: executions.end_date - executions.start_date read from the state DB, "
                     "divided by the number of tasks",
            "baseline": None, "goal": "<= 2 ms per task (absolute figure, no baseline)",
            "figure": per_task_ms, "unit": "ms/task", "goal_max": 2.0, **result}


BENCHMARKS = [bench_cold_hello, bench_pydantic_floor, bench_many_returns]


def run(tiny: bool = False) -> list[dict[str, Any]]:
    rows = [bench(tiny) for bench in BENCHMARKS]
    try:
        BENCH_TMP.rmdir()  # only when empty: other modules may be using it
    except OSError:
        pass
    return rows
