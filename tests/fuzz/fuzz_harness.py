"""Run one fuzz case (a CLI argument list) under the contract's limits and judge what came out.

A case runs either in the long-lived worker process (`fuzz_worker.py`, thousands of cases a minute) or as a
fresh `python -m flowrun` subprocess (the truth: real start-up, real exit status). Both run with an rlimit guard,
a 10 s watchdog that kills the process group, and a measure of the peak resident memory of that one case.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings

LIMIT_SECONDS = 10.0
LIMIT_MB = 500.0
EXIT_CODES = range(0, 6)  # README "Exit codes": 0 ok .. 5 paused
# A guard so a runaway case cannot take the machine; the 500 MB verdict itself uses the peak RSS.
_ADDRESS_SPACE = 2 * 1024**3
_WORKER = Path(__file__).with_name("fuzz_worker.py")
# Values planted in every case's environment that no output may show: a token `envs` hides, and a secret
# (SECRET_FUZZ, base64 as Kestra wants it), which only an explicit `secret('FUZZ')` may reveal.
CANARIES = {"OTHER_TOKEN": "fuzz-canary-token-91c2e7", "secret": "fuzz-canary-secret-5d0a"}
CANARY_ENV = {"OTHER_TOKEN": CANARIES["OTHER_TOKEN"], "SECRET_FUZZ": "ZnV6ei1jYW5hcnktc2VjcmV0LTVkMGE="}


def examples(default: int, share: float = 1.0) -> int:
    """Examples per target: the fixed budget of `make test`, or a `share` of FLOWRUN_FUZZ_EXAMPLES (`make fuzz`)."""
    wanted = os.environ.get("FLOWRUN_FUZZ_EXAMPLES")
    return max(1, int(int(wanted) * share)) if wanted else default


def fuzz_settings(default: int, share: float = 1.0) -> settings:
    """Fixed seed, bounded examples, no example database, no per-example deadline (the watchdog is ours)."""
    return settings(max_examples=examples(default, share), derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


@dataclass
class Case:
    """One CLI invocation: `flowrun ARGV...` run in `cwd` with extra environment variables."""

    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    target: str = "cli"
    files: dict[str, bytes] = field(default_factory=dict)  # what the case wrote before it ran (for the report)
    selftest: str | None = None

    def command_line(self) -> str:
        return "flowrun " + " ".join(shlex.quote(a) for a in self.argv)


@dataclass
class Outcome:
    code: int | None  # None: no exit status (killed by the watchdog, or the worker died)
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    timed_out: bool = False
    signal: int | None = None
    runner: str = "worker"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_ADDRESS_SPACE, _ADDRESS_SPACE))


def _limit() -> None:
    """For one fresh process: memory, and CPU time (a long-lived worker gets only the wall-clock watchdog)."""
    _limit_memory()
    cpu = int(LIMIT_SECONDS) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWRUN_", "PYTEST", "HYPOTHESIS"))}
    return {**env, "TERM": "dumb", "COLUMNS": "100", **CANARY_ENV, **extra}


class Worker:
    """The in-process runner: one `fuzz_worker.py` process, restarted whenever a case kills or hangs it."""

    def __init__(self, env: dict[str, str], limit_seconds: float = LIMIT_SECONDS) -> None:
        self.env = env
        self.limit_seconds = limit_seconds
        self.proc: subprocess.Popen[str] | None = None
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.restarts = 0

    def _start(self) -> subprocess.Popen[str]:
        self.log.seek(0)
        self.log.truncate()
        proc = subprocess.Popen([sys.executable, str(_WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=self.log, text=True, env=_env(self.env), preexec_fn=_limit_memory,
                                start_new_session=True)
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        if not ready:
            self.log.seek(0)
            raise RuntimeError(f"the fuzz worker did not start: {self.log.read()}")
        return proc

    def run(self, case: Case) -> Outcome:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        request = {"argv": case.argv, "cwd": case.cwd, "env": case.env, "selftest": case.selftest}
        start = time.monotonic()
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], self.limit_seconds)
        line = proc.stdout.readline() if ready else ""
        seconds = time.monotonic() - start
        if line:
            reply = json.loads(line)
            return Outcome(reply["code"], reply["stdout"], reply["stderr"], reply["seconds"], reply["peak_mb"])
        return self._lost(proc, seconds, timed_out=not ready)

    def _lost(self, proc: subprocess.Popen[str], seconds: float, timed_out: bool) -> Outcome:
        """The worker hung (killed here) or died under a case: report it and start afresh next time."""
        _kill_group(proc)
        status = proc.wait()
        self.proc, self.restarts = None, self.restarts + 1
        self.log.seek(0)
        stderr = self.log.read()[-4000:]
        sig = -status if status < 0 and not timed_out else None
        return Outcome(None if timed_out or sig else status, "", stderr, seconds, 0.0, timed_out, sig)

    def close(self) -> None:
        """Stop the worker process (the next case starts a new one)."""
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc.wait()
            self.proc = None


def run_subprocess(case: Case, env: dict[str, str], command: list[str] | None = None,
                   limit_seconds: float = LIMIT_SECONDS) -> Outcome:
    """The truth: a fresh `python -m flowrun` under the same limits, its own peak RSS read from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(command or [sys.executable, "-m", "flowrun", *case.argv], cwd=case.cwd,
                                env=_env({**env, **case.env}), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                preexec_fn=_limit, start_new_session=True)
        status, usage, timed_out = _wait(proc, start, limit_seconds)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
    sig = -status if status < 0 and not timed_out else None
    code = None if timed_out or sig else status
    return Outcome(code, stdout, stderr, seconds, usage.ru_maxrss / 1024, timed_out, sig, "subprocess")


def _wait(proc: subprocess.Popen[bytes], start: float, limit_seconds: float) -> tuple[int, Any, bool]:
    timed_out = False
    while True:
        pid, raw, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(raw)
            return proc.returncode, usage, timed_out
        if time.monotonic() - start > limit_seconds and not timed_out:
            timed_out = True
            _kill_group(proc)
        time.sleep(0.005)


def violations(case: Case, outcome: Outcome) -> list[str]:
    """What the outcome breaks of the contract: time, memory, exit code, traceback, internal error, a leak."""
    found = []
    if outcome.timed_out or outcome.seconds > LIMIT_SECONDS:
        found.append(f"ran longer than {LIMIT_SECONDS:.0f} s")
    if outcome.peak_mb > LIMIT_MB:
        found.append(f"peak memory {outcome.peak_mb:.0f} MB > {LIMIT_MB:.0f} MB")
    if outcome.signal:
        found.append(f"killed by signal {outcome.signal} ({signal.Signals(outcome.signal).name})")
    if outcome.code is not None and outcome.code not in EXIT_CODES:
        found.append(f"exit code {outcome.code} outside 0-5")
    if "Traceback (most recent call last)" in outcome.stdout + outcome.stderr:
        found.append("a traceback was printed")
    if "internal error" in outcome.stderr.lower():
        found.append("an internal error was reported")
    shown = outcome.stdout + outcome.stderr
    secret_shown = CANARIES["secret"] in shown or CANARY_ENV["SECRET_FUZZ"] in shown
    if CANARIES["OTHER_TOKEN"] in shown or (secret_shown and "secret(" not in " ".join(case.argv)):
        found.append("an environment variable's value (a token or a secret) was printed")
    return found


def check(runner: Any, case: Case, extra: Callable[[Outcome], list[str]] | None = None) -> Outcome | None:
    """Run a case (unless a known failure skips it) and judge it; the outcome, or None when skipped."""
    from .known_failures import skipped

    known = skipped(case)
    if known is not None:
        event(f"known failure (skipped): {known.name}")
        KNOWN_HITS[f"{known.name} (skipped)"] = KNOWN_HITS.get(f"{known.name} (skipped)", 0) + 1
        return None
    outcome = runner(case)
    event(f"{case.argv[0] if case.argv else ''} exit {outcome.code}")
    judge(case, outcome, extra(outcome) if extra else [])
    return outcome


def judge(case: Case, outcome: Outcome, extra: list[str] | None = None) -> None:
    """Fail on any violation that no entry of `known_failures` explains (those are counted for the summary)."""
    from .known_failures import excused

    found = violations(case, outcome) + (extra or [])
    if not found:
        return
    left, known = excused(case, outcome, found)
    for entry in known:
        event(f"known failure: {entry.name}")
    _record(case, outcome, found, ", ".join(k.name for k in known) if not left else None)
    if not left or os.environ.get("FLOWRUN_FUZZ_KEEP_GOING"):
        return
    raise AssertionError(describe(case, outcome, left))


def describe(case: Case, outcome: Outcome, found: list[str]) -> str:
    files = "".join(f"\n--- file {name} ---\n{data.decode('utf-8', 'replace')[:3000]}"
                    for name, data in case.files.items())
    return (f"{'; '.join(found)}\n$ {case.command_line()}   (in {case.cwd}, {outcome.runner})\n"
            f"exit {outcome.code} after {outcome.seconds:.2f} s, peak {outcome.peak_mb:.0f} MB\n"
            f"--- stdout ---\n{outcome.stdout[-2000:]}\n--- stderr ---\n{outcome.stderr[-3000:]}{files}")


def _record(case: Case, outcome: Outcome, found: list[str], known: str | None) -> None:
    """Append to FLOWRUN_FUZZ_REPORT (JSON lines) when set: the raw material of docs/RELIABILITY.md."""
    if case.target == "selftest":
        return
    path = os.environ.get("FLOWRUN_FUZZ_REPORT")
    KNOWN_HITS[known or "UNKNOWN"] = KNOWN_HITS.get(known or "UNKNOWN", 0) + 1
    if not path:
        return
    row = {"target": case.target, "known": known, "violations": found, "argv": case.argv,
           "files": {k: v.decode("utf-8", "replace")[:3000] for k, v in case.files.items()},
           "code": outcome.code, "seconds": round(outcome.seconds, 3), "peak_mb": round(outcome.peak_mb),
           "runner": outcome.runner, "stderr": outcome.stderr[-1500:]}
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps(row) + "\n")


KNOWN_HITS: dict[str, int] = {}
CASES_RUN: dict[str, int] = {}
