"""Benchmarks of scale-out on Celery: throughput over N workers, dispatch overhead, a backfill over 4 workers.

One cluster for the whole module: a Postgres state of its own, Redis as the broker, and four `flowrun worker
--concurrency 1` processes, each with its own FLOWRUN_HOME. Worker w1 takes queues q1, q2 and q4, w2 takes q2
and q4, w3 and w4 take q4: a run with FLOWRUN_QUEUE=qN is spread over N workers, so N = 1, 2 and 4 alternate
in one run on the same processes. The machine has 2 cores: the sleeping tasks are I/O-bound, so they can
still scale; the trivial ones measure what each dispatch costs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import interleave, timed, workdir

PG = os.environ.get("FLOWRUN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
BROKER = os.environ.get("FLOWRUN_BENCH_BROKER", "redis://127.0.0.1:6379/0")
FANOUT = """id: fanout
namespace: bench.scaleout
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: {values}
    concurrencyLimit: {limit}
    tasks:
      - id: work
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["{command}"]
"""
DAILY = """id: {flow_id}
namespace: bench.scaleout
tasks:
  - id: nap
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ["sleep {seconds}"]
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
"""
WORKERS = {"w1": "q1,q2,q4", "w2": "q2,q4", "w3": "q4", "w4": "q4"}


class Cluster:
    """The benchmark's processes: the workers, the orchestrating project, the Postgres database."""

    def __init__(self, work: Path, workers: dict[str, str]) -> None:
        import psycopg
        from cryptography.fernet import Fernet

        self.work, self.database = work, f"flowrun_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "FLOWRUN_STATE": f"{PG}/{self.database}", "FLOWRUN_BROKER": BROKER}
        self.project = work / "project"
        (self.project / "flows").mkdir(parents=True)
        (self.project / ".flowrun").mkdir()
        (self.project / ".flowrun" / "secret.key").write_bytes(Fernet.generate_key())
        self.procs: list[subprocess.Popen[bytes]] = []
        for name, queues in workers.items():
            self._start(name, ",".join(f"{self.prefix}.{q}" for q in queues.split(",")))

    def _start(self, name: str, queues: str) -> None:
        root = self.work / name
        (root / ".flowrun").mkdir(parents=True)
        shutil.copy(self.project / ".flowrun" / "secret.key", root / ".flowrun" / "secret.key")
        log = root / "worker.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "flowrun", "worker", "--concurrency", "1", "--name", name,
                                     "--queues", queues, "--loglevel", "INFO"], cwd=root, stdout=sink,
                                    stderr=subprocess.STDOUT, env={**self.env, "FLOWRUN_HOME": str(root / ".flowrun")},
                                    start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def flow(self, name: str, text: str) -> None:
        (self.project / "flows" / name).write_text(text, encoding="utf-8")

    def command(self, args: list[str], queue: str | None) -> float:
        """Seconds of one `flowrun ARGS` (FLOWRUN_QUEUE=qN, or local without a queue); fails on a bad exit."""
        env = {**self.env, "FLOWRUN_HOME": str(self.project / ".flowrun")}
        if queue is None:
            env["FLOWRUN_EXECUTOR"] = "local"
        else:
            env["FLOWRUN_QUEUE"] = f"{self.prefix}.{queue}"

        def call() -> None:
            done = subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=self.project, env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"flowrun {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return timed(call)

    def close(self) -> None:
        import psycopg

        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _throughput(cluster: Cluster, sizes: list[int], tasks: int, seconds: float, runs: int) -> list[dict[str, Any]]:
    cluster.flow("fanout.yaml", FANOUT.format(values=json.dumps(list(range(tasks))), limit=0,
                                              command=f"sleep {seconds:g}"))
    args = ["run", "flows/fanout.yaml", "--max-parallel", str(tasks)]
    rows = []
    for size in sizes:
        result = interleave(runs, lambda size=size: cluster.command(args, f"q{size}"),  # type: ignore[misc]
                            lambda: cluster.command(args, "q1"))
        goal = round(1 / (0.8 * size), 4)
        speedup = round(result["baseline_median_s"] / result["flowrun_median_s"], 2)
        rows.append({
            "name": f"{tasks} independent {seconds:g} s shell tasks on {size} workers (--concurrency 1) vs 1",
            "command": f"FLOWRUN_QUEUE=q{size} flowrun run flows/fanout.yaml (a ForEach, concurrencyLimit 0)",
            "timed": "the orchestrating `flowrun run` process, start to exit",
            "baseline": "the same run with FLOWRUN_QUEUE=q1 (one worker)",
            "goal": f"throughput >= 0.8 x {size} x the 1-worker throughput, i.e. time ratio <= {goal}",
            "goal_ratio": goal, "speedup": speedup, **result})
    return rows


def _dispatch(cluster: Cluster, tasks: int, runs: int) -> dict[str, Any]:
    cluster.flow("trivial.yaml", FANOUT.format(values=json.dumps(list(range(tasks))), limit=1, command="true")
                 .replace("id: fanout", "id: trivial"))
    args = ["run", "flows/trivial.yaml"]
    result = interleave(runs, lambda: cluster.command(args, "q1"), lambda: cluster.command(args, None))
    per_task = (result["flowrun_median_s"] - result["baseline_median_s"]) / tasks
    return {"name": f"dispatch overhead: {tasks} trivial shell tasks one after the other on 1 worker vs locally",
            "command": "FLOWRUN_QUEUE=q1 flowrun run flows/trivial.yaml (ForEach, concurrencyLimit 1, `true`)",
            "timed": "the `flowrun run` process, start to exit",
            "baseline": "the same flow run locally (FLOWRUN_EXECUTOR=local, same Postgres state)",
            "goal": "<= 3x", "goal_ratio": 3.0, "extra_ms_per_task": round(per_task * 1000, 1), **result}


def _backfill(cluster: Cluster, dates: int, seconds: float, runs: int) -> dict[str, Any]:
    counter = iter(range(1000))
    end = f"2024-01-{dates:02d}"

    def once(queue: str) -> float:
        flow_id = f"daily_{next(counter)}"  # a flow of its own each time: every date is still to run
        cluster.flow(f"{flow_id}.yaml", DAILY.format(flow_id=flow_id, seconds=seconds))
        return cluster.command(["backfill", f"flows/{flow_id}.yaml", "--from", "2024-01-01", "--to", end,
                                "--parallel", str(dates)], queue)

    result = interleave(runs, lambda: once("q4"), lambda: once("q1"))
    return {"name": f"backfill of {dates} daily dates ({seconds:g} s shell task each) on 4 workers vs 1",
            "command": f"FLOWRUN_QUEUE=q4 flowrun backfill flows/daily.yaml --from 2024-01-01 --to ... --parallel {dates}",
            "timed": "the backfill process, start to exit: claims, enqueues (every date in flight), waits for each",
            "baseline": "the same backfill with FLOWRUN_QUEUE=q1 (one worker)",
            "goal": "<= 0.3x", "goal_ratio": 0.3, **result}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    work = workdir("bench-scaleout-")
    cluster = Cluster(work, {"w1": WORKERS["w1"], "w2": WORKERS["w2"]} if tiny else WORKERS)
    try:
        if tiny:
            return [*_throughput(cluster, [2], 8, 0.05, 1), _dispatch(cluster, 10, 1), _backfill(cluster, 2, 0.1, 1)]
        return [*_throughput(cluster, [2, 4], 64, 0.5, 3), _dispatch(cluster, 200, 3), _backfill(cluster, 24, 1, 3)]
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_scaleout [--tiny]
    print(json.dumps(run("--tiny" in sys.argv), indent=2))
