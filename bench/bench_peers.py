"""flowrun against its peers (doit, luigi, a bash floor) on four small pipelines: whole-process medians, ratio to doit."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BENCH_TMP, timed, workdir
from bench.peer_pipelines import WRITERS, Size

TOOLS = ("flowrun", "doit", "luigi", "bash")
RUNS = 7


@dataclass(frozen=True)
class Pipeline:
    key: str  # the writer in bench.peer_pipelines
    name: str
    what: str
    size: Size
    tiny: Size
    goal_ratio: float


PIPELINES = [
    Pipeline("hello", "hello", "one task prints a string", Size(), Size(), 1.5),
    Pipeline("chain", "chain10", "10 sequential shell `true` tasks", Size(10), Size(3), 1.3),
    Pipeline("count", "chain100", "100 chained tasks, each adding 1 to the previous output", Size(100), Size(5), 1.3),
    Pipeline("fan", "fan16", "16 x shell `sleep 1`, at most 8 at once", Size(16, 8, 1.0), Size(4, 2, 0.05), 1.3),
]
FAN_IDEAL_GOAL = 1.1
#: where flowrun's time goes beyond doit's, from cProfile and `python -X importtime` runs of these pipelines
NOTES = {
    "hello": "start-up dominates. A cached run imports no typer, PyYAML, pydantic (its models are plain classes, "
             "flowrun/model/lite.py; pydantic validates only on a cache miss) or dataclasses (records are "
             "flowrun/plain.py classes), and flowrun.yaml's validated form is cached too: see the import profile "
             "row of bench_startup. Garbage collection is paused while flowrun loads (cli/startup.py)",
    "chain": "start-up as for hello (a shell task imports no venv or interpreter machinery); per shell task, a "
             "plain vfork spawn of /bin/sh (~1 ms, more when the machine is loaded, since vfork waits until the "
             "child execs), the task's working dir (mkdir of a random name + rmtree), three guardian lines and the "
             "recorder's two commits (the task run RUNNING with its process row, then the attempt's end with its "
             "logs and the row deleted)",
    "count": "start-up as for hello, plus the execution: importing the template compiler once and compiling each "
             "task's distinct template (~0.1 ms); the state writes are a few transactions in all (a Return is "
             "pure: its start, end, metrics are held and written together)",
    "fan": "start-up as for hello; the execution spans ~2.05 s (2 waves of sleep 1, ~15 ms per task to spawn "
           "and record it; the default cap max(32, 8 x CPUs) does not throttle `concurrent: 8`)",
}


def _script(name: str) -> list[str]:
    """The tool's console script beside this interpreter (what a user types), else `python -m name`."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.is_file() else [sys.executable, "-m", name]


def command(tool: str, key: str, size: Size) -> list[str]:
    """The command line each tool is run with; parallel width only for the fan pipeline."""
    if tool == "flowrun":
        return [*_script("flowrun"), "run", f"flows/{key}.yaml"]  # the defaults a user gets
    if tool == "doit":
        return [*_script("doit"), *(["-n", str(size.width)] if key == "fan" else [])]
    if tool == "luigi":
        return [*_script("luigi"), "--module", "pipeline", "Hello" if key == "hello" else "Done",
                "--local-scheduler", "--workers", str(size.width if key == "fan" else 1), "--no-lock",
                "--retcode-task-failed", "1", "--retcode-missing-data", "1", "--retcode-scheduling-error", "1",
                "--retcode-unhandled-exception", "1"]
    return ["bash", "pipeline.sh"]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def runner(tool: str, pipeline: Pipeline, size: Size, work: Path) -> Callable[[], float]:
    """A callable that runs the pipeline once in its own process and returns the wall-clock seconds.

    The project stays between runs, as a user's does (flowrun's state dir, doit's .doit.db); luigi's targets
    would make a second run a no-op, so each luigi run starts in an empty directory."""
    root = work / tool
    _write(root, WRITERS[tool][pipeline.key](size))
    args = command(tool, pipeline.key, size)
    env = {**os.environ, "FLOWRUN_HOME": str(root / ".flowrun"), "PYTHONPATH": str(root)}

    def once() -> float:
        cwd = Path(tempfile.mkdtemp(dir=root)) if tool == "luigi" else root
        result: list[subprocess.CompletedProcess[str]] = []
        seconds = timed(lambda: result.append(subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                                                             text=True)))
        _check(tool, pipeline, size, result[0])
        if cwd != root:
            shutil.rmtree(cwd, ignore_errors=True)
        return seconds

    return once


def _check(tool: str, pipeline: Pipeline, size: Size, proc: subprocess.CompletedProcess[str]) -> None:
    """The process succeeded and its last step printed the expected `result=`."""
    text = proc.stdout + proc.stderr
    if proc.returncode != 0 or f"result={size.expected}" not in text:
        raise RuntimeError(f"{tool} {pipeline.name} exited {proc.returncode} without result={size.expected}: "
                           f"{text[-1500:]}")


def measure(pipeline: Pipeline, tiny: bool) -> dict[str, list[float]]:
    """Every tool's samples, interleaved: each round runs every tool once, in a rotating order."""
    size = pipeline.tiny if tiny else pipeline.size
    work = workdir(f"bench-peers-{pipeline.name}-")
    samples: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    try:
        runs = {tool: runner(tool, pipeline, size, work) for tool in TOOLS}
        if not tiny:  # one untimed run each: the same warm page cache, and the projects' state created
            for run in runs.values():
                run()
        for round_ in range(1 if tiny else RUNS):
            order = TOOLS[round_ % len(TOOLS):] + TOOLS[:round_ % len(TOOLS)]
            for tool in order:
                samples[tool].append(round(runs[tool](), 4))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return samples


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def rows_for(pipeline: Pipeline, samples: dict[str, list[float]], tiny: bool) -> list[dict[str, Any]]:
    size = pipeline.tiny if tiny else pipeline.size
    medians = {tool: _median(values) for tool, values in samples.items()}
    doit = medians["doit"]
    row: dict[str, Any] = {
        "name": f"peers: {pipeline.name}, {pipeline.what}",
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(command("flowrun", pipeline.key,
                                                                                           size))),
        "timed": "each tool's whole process, start to exit (wall clock); every round runs flowrun, doit, luigi "
                 "and bash once, in a rotating order",
        "baseline": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(command("doit", pipeline.key,
                                                                                        size))) + " (doit)",
        "goal": f"<= {pipeline.goal_ratio:g}x doit", "goal_ratio": pipeline.goal_ratio,
        "runs": len(samples["flowrun"]), "flowrun_s": samples["flowrun"], "baseline_s": samples["doit"],
        "flowrun_median_s": medians["flowrun"], "baseline_median_s": doit,
        "ratio": round(medians["flowrun"] / doit, 3),
        "luigi_median_s": medians["luigi"], "luigi_to_doit": round(medians["luigi"] / doit, 3),
        "bash_median_s": medians["bash"], "bash_to_doit": round(medians["bash"] / doit, 3),
        "luigi_s": samples["luigi"], "bash_s": samples["bash"], "note": NOTES[pipeline.key],
    }
    rows = [row]
    if pipeline.key == "fan":
        ideal = -(-size.n // size.width) * size.seconds
        rows.append({
            "name": f"peers: {pipeline.name} with default settings, against the ideal",
            "command": row["command"], "timed": "the flowrun process, start to exit (wall clock), from the "
                                                "same samples as the row above",
            "baseline": f"the ideal: {size.n} x {size.seconds:g} s / {size.width} at once = {ideal:g} s",
            "goal": f"<= {FAN_IDEAL_GOAL:g}x the ideal", "goal_ratio": FAN_IDEAL_GOAL,
            "runs": row["runs"], "flowrun_s": samples["flowrun"], "baseline_s": [],
            "flowrun_median_s": medians["flowrun"], "baseline_median_s": ideal,
            "ratio": round(medians["flowrun"] / ideal, 3),
        })
    return rows


def run(tiny: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for pipeline in PIPELINES:
        rows += rows_for(pipeline, measure(pipeline, tiny), tiny)
    try:
        BENCH_TMP.rmdir()  # only when empty: other modules may be using it
    except OSError:
        pass
    return rows


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_peers [--tiny]
    import json

    print(json.dumps(run("--tiny" in sys.argv), indent=2))
