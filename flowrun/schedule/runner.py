"""Running one claimed schedule date with a given `start_execution`: in this process, or in worker processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from flowrun.engine.launch import RunOptions
from flowrun.engine.services import StartExecution
from flowrun.schedule import trigger_state
from flowrun.state.records import Claim


@dataclass
class Job:
    """Everything needed to run one date of one trigger."""

    claim: Claim
    flow_path: str
    home: str
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    stop_after: list[str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        claim = data.pop("claim")
        claim["key"] = tuple(claim["key"])
        return cls(claim=Claim(**claim), **data)


@dataclass
class JobResult:
    execution_id: str | None
    state: str
    error: str | None = None
    interrupted: bool = False
    seconds: float = 0.0
    stopped_trigger: bool = False


def run_job(job: Job, start: StartExecution) -> JobResult:
    """Prepare, link the claim to the execution, run, then settle the claim.

    A KILLED execution means the run was interrupted (Ctrl-C, SIGTERM): its claim is given back, so the date
    counts as not run. Errors before the execution exists come back as a FAILED result without an execution.
    """
    from flowrun.errors import FlowrunError

    started = time.monotonic()
    options = RunOptions(inputs=dict(job.inputs), labels=dict(job.labels), home=job.home, trigger=job.trigger)
    try:
        prepared = start(job.flow_path, options)
    except FlowrunError as exc:
        return JobResult(None, "FAILED", exc.message, seconds=time.monotonic() - started)
    db = prepared.services.db
    db.link_claim(job.claim, prepared.execution.id)
    execution = prepared.run()
    result = JobResult(execution.id, execution.state, execution.error, execution.state == "KILLED",
                       time.monotonic() - started)
    if result.interrupted:
        return result
    db.finish_claim(job.claim)
    result.stopped_trigger = trigger_state.apply_stop_after(db, job.claim.key, job.stop_after, execution.state,
                                                            execution.id)
    return result


class InProcessPool:
    """Runs each job in the calling thread with `start` (the celery executor: the execution runs on a Celery
    worker while this thread waits for its end); the interface of `WorkerPool`."""

    def __init__(self, start: StartExecution) -> None:
        self.start = start

    def run(self, job: Job) -> JobResult:
        return run_job(job, self.start)

    def interrupt(self) -> None:
        stop = getattr(self.start, "interrupt", None)  # e.g. withdraw the executions no worker took yet
        if stop is not None:
            stop()

    def close(self) -> None:
        return None


class WorkerPool:
    """N long-lived worker processes (`command`, serving `serve_stdio`), each running one job at a time.

    Workers live in their own session, so a terminal Ctrl-C reaches only the parent, which then sends each
    busy worker one SIGTERM: the worker kills its execution cleanly and reports it as interrupted.
    """

    def __init__(self, size: int, log_path: Path, command: list[str]) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self._idle: queue.Queue[subprocess.Popen[str]] = queue.Queue()
        self._all: list[subprocess.Popen[str]] = []
        for _ in range(size):
            proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True)
            self._all.append(proc)
            self._idle.put(proc)

    def run(self, job: Job) -> JobResult:
        proc = self._idle.get()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(job.to_json() + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            return JobResult(None, "KILLED", "the worker process died", interrupted=True)
        result = JobResult(**json.loads(line))
        if not result.interrupted:
            self._idle.put(proc)
        return result

    def interrupt(self) -> None:
        for proc in self._all:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue

    def close(self) -> None:
        for proc in self._all:
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
        for proc in self._all:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._log.close()


def _serve(source: IO[str], sink: IO[str], start: StartExecution) -> None:
    for line in source:
        if not line.strip():
            continue
        job = Job.from_json(line)
        try:
            result = run_job(job, start)
        except KeyboardInterrupt:
            result = JobResult(None, "KILLED", "interrupted before the execution started", interrupted=True)
        except Exception as exc:  # report, never die silently
            result = JobResult(job.claim.execution_id, "FAILED", f"{type(exc).__name__}: {exc}")
        sink.write(json.dumps(asdict(result)) + "\n")
        sink.flush()
        if result.interrupted:
            return


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt()


def serve_stdio(start: StartExecution) -> None:
    """A worker process: JSON jobs on stdin, JSON results on stdout; anything else printed goes to stderr."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    try:
        _serve(sys.stdin, sink, start)
    except KeyboardInterrupt:
        return
