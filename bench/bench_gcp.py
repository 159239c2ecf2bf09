"""Benchmark of gcs.Upload: a 100 MB file through the task against `blob.upload_from_filename` to the same emulator."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flowrun.app.run import RunOptions, run_flow

ROOT = Path(__file__).resolve().parents[1]
BENCH_TMP = Path(os.environ.get("FLOWRUN_BENCH_TMP", ROOT / ".bench-tmp"))
GOAL = 0.9  # throughput at least 0.9x the client's own upload
FLOW = """\
id: upload
namespace: bench
inputs:
  - id: file
    type: FILE
tasks:
  - id: upload
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{ inputs.file }}"
    to: gs://bench-bucket/flowrun.bin
"""


def _emulators() -> Any:
    """tests/gcp_emulators.py starts the emulators from their cached side venv (built on first use)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import gcp_emulators

    for name, target in gcp_emulators.GCP_TASKS.items():  # until the registry lists them
        from flowrun.tasks import registry

        registry.TASKS.setdefault(name, target)
    return gcp_emulators


def _task_seconds(execution: Any, task_id: str) -> float:
    if execution.state != "SUCCESS":
        raise RuntimeError(f"benchmark flow ended {execution.state}")
    run = next(tr for tr in execution.task_runs if tr.task_id == task_id)
    attempt = run.attempts[-1]
    return float((attempt.end_date - attempt.start_date).total_seconds())


def _write_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(block)


def bench_upload(tiny: bool) -> dict[str, Any]:
    """Median of interleaved runs: the Upload task's attempt vs client creation plus `upload_from_filename`."""
    size = (2 if tiny else 100) << 20
    runs = 3 if tiny else 5
    helpers = _emulators()
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gcp-", dir=BENCH_TMP))
    try:
        with helpers.running_emulators(work / "emulators") as emu:
            project = work / "project"
            (project / "flows").mkdir(parents=True)
            (project / "flowrun.yaml").write_text(emu.config_yaml())
            flow = project / "flows" / "upload.yaml"
            flow.write_text(FLOW)
            data = work / "data.bin"
            _write_file(data, size)
            emu.storage_client().create_bucket("bench-bucket")
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(_run_task(project, flow, data))
                theirs.append(_run_client(emu, data))
            uploaded = emu.storage_client().bucket("bench-bucket").get_blob("flowrun.bin")
            if uploaded is None or uploaded.size != size:
                raise RuntimeError("the Upload task did not store the whole file")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mine, base = statistics.median(ours), statistics.median(theirs)
    throughput = base / mine if mine else 0.0
    mb = size / 2**20
    return {
        "name": f"gcs.Upload of a {mb:.0f} MB file to the GCS emulator",
        "command": "flowrun run flows/upload.yaml --input file=data.bin (gcs.Upload, emulators: in flowrun.yaml)",
        "timed": "the Upload task attempt (from the execution record) vs client creation + upload_from_filename",
        "baseline": "storage.Client(...).bucket(b).blob(name).upload_from_filename(data.bin) to the same emulator",
        "span": round(mine, 4), "baseline_median_s": round(base, 4), "ratio": round(mine / base, 3) if base else None,
        "throughput_ratio": round(throughput, 3), "flowrun_mb_s": round(mb / mine, 1) if mine else None,
        "baseline_mb_s": round(mb / base, 1) if base else None, "goal": f"throughput >= {GOAL}x the client",
        "passed": throughput >= GOAL, "runs": runs,
        "samples": {"flowrun_s": [round(x, 4) for x in ours], "baseline_s": [round(x, 4) for x in theirs]},
    }


def _run_task(project: Path, flow: Path, data: Path) -> float:
    cwd = os.getcwd()
    os.chdir(project)
    try:
        execution = run_flow(str(flow), RunOptions(inputs={"file": str(data)}, home=str(project / ".flowrun")))
    finally:
        os.chdir(cwd)
    return _task_seconds(execution, "upload")


def _run_client(emu: Any, data: Path) -> float:
    start = time.perf_counter()
    emu.storage_client().bucket("bench-bucket").blob("client.bin").upload_from_filename(str(data))
    return time.perf_counter() - start


def run(tiny: bool = False) -> list[dict[str, Any]]:
    return [bench_upload(tiny)]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_gcp [--tiny]
    import json

    for row in run("--tiny" in sys.argv):
        print(json.dumps(row, indent=2))
