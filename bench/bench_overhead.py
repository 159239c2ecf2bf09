"""Per-execution and start-up overhead: a 2,000-date minutely backfill, a tick over 100 idle flows, the seed flow.

- backfill: 2,000 minutely dates of a one-Log flow with `--parallel 4`, the whole process divided by the dates;
- tick: `flowrun tick` over a project of 100 flows whose schedules have nothing due (after a first tick);
- seed: the second run of the seed's hello-world flow (`../shared/compat/seed/`) against the seed's own commands
  (`python3 -m venv`, `pip install -r`, the script) with pip's cache warm; the script's URL points at a local
  HTTP server (the one edit the seed's README allows).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import ROOT, interleave, timed, workdir

#: the console script a user runs (`python -m flowrun` where there is none)
FLOWRUN = [str(Path(sys.executable).with_name("flowrun"))] if Path(sys.executable).with_name("flowrun").is_file() \
    else [sys.executable, "-m", "flowrun"]
SEED = ROOT.parent / "shared" / "compat" / "seed"
PARALLEL = 4
LOG_FLOW = """id: minutely
namespace: bench
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.date }}"
triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""
#: a daily 09:00 schedule that does not recover missed dates: after the first tick, nothing is due
IDLE_FLOW = """id: idle{index:03d}
namespace: bench.tick
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
    recoverMissedSchedules: NONE
"""


def _flowrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWRUN_HOME": str(cwd / ".flowrun")}
    done = subprocess.run([*FLOWRUN, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flowrun {' '.join(args)} exited {done.returncode}: {(done.stdout + done.stderr)[-1500:]}")
    return done


def backfill_row(tiny: bool) -> dict[str, Any]:
    dates = 20 if tiny else 2000
    work = workdir("bench-backfill-minutely-")
    counter = iter(range(1_000))
    to = (datetime(2019, 1, 1) + timedelta(minutes=dates - 1)).isoformat()

    def once() -> float:
        project = work / f"p{next(counter)}"
        (project / "flows").mkdir(parents=True)
        (project / "flows" / "minutely.yaml").write_text(LOG_FLOW, encoding="utf-8")
        try:
            return timed(lambda: _flowrun(["backfill", "flows/minutely.yaml", "--from", "2019-01-01T00:00:00",
                                           "--to", to, "--parallel", str(PARALLEL)], project))
        finally:
            shutil.rmtree(project, ignore_errors=True)

    try:
        result = interleave(1 if tiny else 3, once, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per = round(result["flowrun_median_s"] / dates * 1000, 3)
    return {"name": f"backfill {dates:,} minutely dates of a one-Log flow, --parallel {PARALLEL}",
            "command": f"flowrun backfill flows/minutely.yaml --from 2019-01-01T00:00:00 --to {to} "
                       f"--parallel {PARALLEL}",
            "timed": "the backfill process, start to exit (wall clock), divided by the number of dates",
            "baseline": None, "goal": "<= 5 ms per execution", "goal_max": 5.0, "figure": per,
            "unit": "ms/execution", **result, "baseline_s": []}


def tick_row(tiny: bool) -> dict[str, Any]:
    flows = 5 if tiny else 100
    project = workdir("bench-tick-")
    (project / "flows").mkdir()
    for index in range(flows):
        (project / "flows" / f"idle{index:03d}.yaml").write_text(IDLE_FLOW.format(index=index), encoding="utf-8")
    try:
        _flowrun(["tick"], project)  # the first tick records the triggers; the ones timed find nothing due
        result = interleave(1 if tiny else 7, lambda: timed(lambda: _flowrun(["tick"], project)), None)
    finally:
        shutil.rmtree(project, ignore_errors=True)
    median = result["flowrun_median_s"]
    return {"name": f"`flowrun tick` over {flows} flows with nothing due",
            "command": "flowrun tick", "timed": "the tick process, start to exit (wall clock), after a first tick",
            "baseline": None, "goal": "<= 0.3 s", "goal_max": 0.3, "figure": median, "unit": "s",
            **result, "baseline_s": []}


class _GitHub(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = json.dumps({"stargazers_count": 4242}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _seed_project(work: Path, url: str) -> Path:
    project = work / "project"
    (project / "flows").mkdir(parents=True)
    shutil.copy(SEED / "hello-world.yaml", project / "flows" / "hello-world.yaml")
    shutil.copytree(SEED / "namespace_files", project / "namespace_files")
    script = project / "namespace_files" / "company.team" / "company.team" / "scripts" / "api_example.py"
    script.chmod(0o644)
    script.write_text(script.read_text(encoding="utf-8").replace("https://api.github.com", url), encoding="utf-8")
    return project


def _seed_commands(work: Path, project: Path) -> float:
    """The seed's own commands in a fresh dir: venv, pip install -r (cache warm), the script."""
    run_dir = Path(workdir("bench-seed-own-"))
    shutil.copytree(project / "namespace_files" / "company.team", run_dir, dirs_exist_ok=True)
    python3 = shutil.which("python3", path=str(Path(sys.base_exec_prefix) / "bin")) or "python3"
    script = (f"set -e\n{python3} -m venv .venv\n. .venv/bin/activate\n"
              "pip install -q --disable-pip-version-check -r company.team/scripts/requirements.txt\n"
              "python company.team/scripts/api_example.py\n")
    try:
        return timed(lambda: subprocess.run(["bash", "-c", script], cwd=run_dir, check=True, capture_output=True))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def seed_row(tiny: bool) -> dict[str, Any]:
    work = workdir("bench-seed-")
    try:
        with _server() as url:
            project = _seed_project(work, url)
            args = ["run", "flows/hello-world.yaml"]
            _flowrun(args, project)  # the first run builds the cached venv
            if not tiny:  # and warms pip's cache (`make test` only checks that the figure is produced)
                _seed_commands(work, project)
            result = interleave(1 if tiny else 5, lambda: timed(lambda: _flowrun(args, project)),
                                lambda: _seed_commands(work, project))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": "the seed's hello-world flow, second run, against the seed's own commands",
            "command": "flowrun run flows/hello-world.yaml (its cached venv built by a first run)",
            "timed": "each side's whole process, start to exit (wall clock), interleaved",
            "baseline": "python3 -m venv .venv; . .venv/bin/activate; pip install -r requirements.txt; "
                        "python api_example.py (pip's cache warm)",
            "goal": "<= 0.1x the seed's commands", "goal_ratio": 0.1, **result}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    return [backfill_row(tiny), tick_row(tiny), seed_row(tiny)]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_overhead [--tiny]
    print(json.dumps(run("--tiny" in sys.argv), indent=2))
