"""Runs jq programs in pooled worker processes that a timeout, Ctrl-C or the task's cancel flag can stop."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from .errors import EvalError
from .limits import (
    JQ_MEMORY_BYTES,
    JQ_SECONDS,
    MAX_CHARS,
    Bounds,
    LimitError,
    after_timeout,
    current_bounds,
    seconds_left,
    stop_if_cancelled,
)

_POLL_SECONDS = 0.05
_MAX_IDLE = 4


class _Died(Exception):
    """The worker process ended before it answered."""


class _TimedOut(Exception):
    """The worker did not answer in time."""


class _Worker:
    """One jq worker process and the part of its answer read so far."""

    def __init__(self) -> None:
        from . import jq_worker

        cpu_seconds = str(int(JQ_SECONDS) + 5)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", jq_worker.BOOT, json.dumps(sys.path), jq_worker.__file__,
             str(JQ_MEMORY_BYTES), cpu_seconds,
             "1" if threading.current_thread() is threading.main_thread() else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={}, close_fds=True,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: bytes, seconds: float, bounds: Bounds) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(request)
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Died() from None
        return json.loads(self._read_line(stdout.fileno(), time.monotonic() + seconds, bounds))  # type: ignore[no-any-return]

    def _read_line(self, fd: int, deadline: float, bounds: Bounds) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while not chunks or not chunks[-1].endswith(b"\n"):
            stop_if_cancelled(bounds)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut()
            ready, _, _ = select.select([fd], [], [], min(_POLL_SECONDS, remaining))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _Died()
            chunks.append(chunk)
            size += len(chunk)
            if size > 2 * MAX_CHARS:
                raise LimitError(f"the jq results are larger than {2 * MAX_CHARS:,} bytes")
        return b"".join(chunks)

    def stop(self) -> int:
        if self.alive():
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        return self.proc.wait()


class _Pool:
    """Idle workers kept for the next call (starting one costs a Python start-up and `import jq`)."""

    def __init__(self) -> None:
        self.idle: list[_Worker] = []
        self.lock = threading.Lock()

    def take(self) -> _Worker:
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.alive():
                    return worker
                worker.stop()
        return _Worker()

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            if len(self.idle) < _MAX_IDLE:
                self.idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        with self.lock:
            workers, self.idle = self.idle, []
        for worker in workers:
            worker.stop()

    def forget(self) -> None:
        """In a forked child: the workers belong to the parent."""
        self.idle = []
        self.lock = threading.Lock()


_POOL = _Pool()
atexit.register(_POOL.close)
os.register_at_fork(after_in_child=_POOL.forget)


def run_jq(program: str, data_json: str) -> list[Any]:
    """All results of `program` on the JSON text `data_json`; ValueError carries jq's own error."""
    request = (json.dumps({"p": program, "d": data_json}) + "\n").encode()
    bounds, seconds = current_bounds(), seconds_left(JQ_SECONDS)
    for fresh in (False, True):
        try:
            worker = _POOL.take() if not fresh else _Worker()
        except OSError as exc:
            raise EvalError(f"cannot start the jq worker process: {exc}") from None
        try:
            reply = worker.ask(request, seconds, bounds)
        except _Died:
            code = worker.stop()
            if not fresh and code == -signal.SIGKILL:  # an idle worker was reaped (e.g. its thread ended)
                continue
            raise EvalError(f"jq stopped: its process {_describe(code)}; the program may recurse without end "
                            f"or need more than {JQ_MEMORY_BYTES >> 20} MiB of memory") from None
        except _TimedOut:
            worker.stop()
            after_timeout(f"The jq program `{program}`", seconds)
            raise  # unreachable
        except BaseException:  # Ctrl-C, the task's cancel flag, an oversized answer
            worker.stop()
            raise
        _POOL.give_back(worker)
        if "error" in reply:
            raise ValueError(reply["error"])
        return reply["ok"]  # type: ignore[no-any-return]
    raise AssertionError("unreachable")


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
