"""Start-up: the validated-flow cache against parsing and validating, and the import profile of a cached run.

- cache: in one process with every module imported, restoring chain100's cached `Flow` (flowrun/flow_cache.py,
  a pickle) against reading, parsing and validating the file (`load_flow`): the measurement behind the
  representation chosen;
- import profile: `python -X importtime` of a cached `flowrun run flows/hello.yaml`, five runs, each module's
  smallest self time (the machine is shared: the minimum is the least disturbed), grouped by package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench import interleave, workdir
from bench.peer_pipelines import Size, flowrun_count, flowrun_hello

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def cache_row(tiny: bool) -> dict[str, Any]:
    import pickle

    from flowrun.flow_cache import cached_flow, entry_path
    from flowrun.load import load_flow, load_project_flow
    from flowrun.model.flow import Flow
    from flowrun.project import open_project

    root = workdir("bench-cache-")
    try:
        _write(root, flowrun_count(Size(5 if tiny else 100)))
        path = root / "flows" / "count.yaml"
        project = open_project(str(root / ".flowrun"), root)
        load_project_flow(path, project)  # stores the entry, and imports the validator once
        entry = entry_path(project.home, path)

        def restore() -> float:
            start = time.perf_counter()
            cached_flow(project.home, path, path.read_bytes(), b"", (), lambda _: pickle.loads(b"bad"), Flow)
            return time.perf_counter() - start

        def validate() -> float:
            start = time.perf_counter()
            load_flow(path)
            return time.perf_counter() - start

        result = interleave(1 if tiny else 15, restore, validate)
        size = entry.stat().st_size
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"name": "validated-flow cache: restoring chain100's Flow against parsing and validating it",
            "command": "flow_cache.cached_flow (key, read, pickle.loads) in-process",
            "timed": "one load, in a process that already imported everything (perf_counter)",
            "baseline": "load.load_flow: read, parse (PyYAML), validate (pydantic models, template checks)",
            "goal": "<= 0.1x the validation", "goal_ratio": 0.1, **result, "entry_bytes": size,
            "note": "pickle of the Flow, whose models are plain classes (flowrun/model/lite.py: restoring them "
                    "imports no pydantic, and runs no validator); the restore time includes the cache key (sha256 of "
                    "the file, flowrun.yaml and the defaults, and a stat of flowrun's source files computed once "
                    "a process) and the file's read"}


def _profile(root: Path, runs: int) -> dict[str, int]:
    env = {**os.environ, "FLOWRUN_HOME": str(root / ".flowrun")}
    args = [sys.executable, "-X", "importtime", "-m", "flowrun", "run", "flows/hello.yaml"]
    subprocess.run(args[:1] + args[3:], cwd=root, env=env, check=True, capture_output=True)  # fills the cache
    best: dict[str, int] = defaultdict(lambda: 10**12)
    for _ in range(runs):
        done = subprocess.run(args, cwd=root, env=env, check=True, capture_output=True, text=True)
        for line in done.stderr.splitlines():
            found = _IMPORT_LINE.match(line)
            if found:
                best[found[4]] = min(best[found[4]], int(found[1]))
    return dict(best)


def profile_row(tiny: bool) -> dict[str, Any]:
    root = workdir("bench-importtime-")
    try:
        _write(root, flowrun_hello(Size()))
        start = time.perf_counter()
        best = _profile(root, 1 if tiny else 5)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    groups: Counter[str] = Counter()
    for name, micros in best.items():
        parts = name.split(".")
        groups[".".join(parts[:2]) if parts[0] == "flowrun" else parts[0]] += micros
    total = sum(best.values()) / 1e6
    top = ", ".join(f"{name} {micros / 1000:.1f}" for name, micros in groups.most_common(18))
    heavy = [m for m in ("typer", "yaml", "flowrun.validate", "rich", "importlib.metadata", "logging",
                         "concurrent.futures", "flowrun.schedule.conditions") if m in best]
    return {"name": "reference: the import profile of a cached `flowrun run flows/hello.yaml`",
            "command": "python -X importtime -m flowrun run flows/hello.yaml (the flow already cached)",
            "timed": "the sum over modules of each one's smallest self import time in the runs",
            "baseline": None, "goal": "none: where a cached run's start-up goes", "reference": True,
            "runs": 1 if tiny else 5, "flowrun_s": [round(total, 4)], "flowrun_median_s": round(total, 4),
            "profile_wall_s": round(seconds, 2), "modules": len(best),
            "heavy_imported": ", ".join(heavy) or "none of typer, yaml, flowrun.validate, rich, importlib.metadata, "
                                                  "logging, concurrent.futures, schedule.conditions",
            "note": f"ms of self import time by package (smallest of the runs): {top}"}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    return [cache_row(tiny), profile_row(tiny)]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_startup [--tiny]
    import json

    print(json.dumps(run("--tiny" in sys.argv), indent=2))
