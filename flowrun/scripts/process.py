"""Run one program in its own process group, streaming its lines out and killing the whole group on demand."""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from flowrun.plain import Plain
from flowrun.scripts.lifeline import GUARDIAN
from flowrun.state.pgroups import group_alive, kill_group

#: called with (line, is_stderr) for every complete output line, in the calling thread
LineSink = Callable[[str, bool], None]
#: called with the process group id when the program started, and again when the whole group ended
GroupHook = Callable[[int], None]

#: how long to keep reading after the main process exited while a grandchild still holds the pipes open
DRAIN_AFTER_EXIT_S = 0.3


class ProcessResult(Plain):
    """How a program ended."""

    FIELDS = ("exit_code", "timed_out", "cancelled", "duration_s", "stderr_tail", "stdout_lines", "stderr_lines")

    def __init__(self, exit_code: int, timed_out: bool = False, cancelled: bool = False, duration_s: float = 0.0,
                 stderr_tail: list[str] | None = None, stdout_lines: int = 0, stderr_lines: int = 0) -> None:
        self.exit_code = exit_code
        self.timed_out = timed_out
        self.cancelled = cancelled
        self.duration_s = duration_s
        self.stderr_tail: list[str] = [] if stderr_tail is None else stderr_tail
        self.stdout_lines = stdout_lines
        self.stderr_lines = stderr_lines


class _LineSplitter:
    """Turns byte chunks into decoded lines, keeping a partial last line."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[str]:
        self.buf += data
        if b"\n" not in self.buf:
            return []
        *lines, self.buf = self.buf.split(b"\n")
        return [_decode(x) for x in lines]

    def flush(self) -> list[str]:
        rest, self.buf = self.buf, b""
        return [_decode(rest)] if rest else []


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


def run_program(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    on_line: LineSink,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
    tail_lines: int = 20,
    on_start: GroupHook | None = None,
    on_end: GroupHook | None = None,
) -> ProcessResult:
    """Run `argv` to completion in a new session; stream lines to `on_line`; honour cancel and timeout.

    On timeout or cancel the whole process group (children and grandchildren) is terminated. The group
    dies with this process too (see flowrun.scripts.lifeline), and `on_start` can record it for a later
    flowrun to stop if this one dies.
    Raises FileNotFoundError/PermissionError when the program itself cannot be started.
    """
    start = time.monotonic()
    task_env = GUARDIAN.environ(env)
    proc = GUARDIAN.spawn(lambda: subprocess.Popen(
        argv, cwd=str(cwd), env=task_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, close_fds=True))
    try:
        if on_start is not None:
            on_start(proc.pid)
        return _follow(proc, start, on_line, cancel, timeout_s, tail_lines)
    finally:
        if proc.poll() is None or group_alive(proc.pid):  # nothing of the task outlives it
            kill_group(proc.pid, grace_s=0.2)
            proc.wait()
        GUARDIAN.unregister(proc.pid)
        if on_end is not None:
            on_end(proc.pid)


def _follow(proc: subprocess.Popen, start: float, on_line: LineSink, cancel: threading.Event | None,
            timeout_s: float | None, tail_lines: int) -> ProcessResult:
    """Stream the program's lines until it and its pipes are done; kill its group on cancel or timeout."""
    deadline = start + timeout_s if timeout_s else None
    pgid = proc.pid
    result = ProcessResult(exit_code=-1)
    tail: deque[str] = deque(maxlen=tail_lines)
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    splitters = {proc.stdout.fileno(): (_LineSplitter(), False), proc.stderr.fileno(): (_LineSplitter(), True)}
    for stream in (proc.stdout, proc.stderr):
        os.set_blocking(stream.fileno(), False)
        sel.register(stream.fileno(), selectors.EVENT_READ)

    def emit(line: str, is_err: bool) -> None:
        if is_err:
            result.stderr_lines += 1
            tail.append(line)
        else:
            result.stdout_lines += 1
        on_line(line, is_err)

    exited_at: float | None = None
    try:
        while sel.get_map():
            now = time.monotonic()
            if cancel is not None and cancel.is_set() and not result.cancelled:
                result.cancelled = True
                kill_group(pgid, proc=proc)
            if deadline is not None and now >= deadline and not result.timed_out and exited_at is None:
                result.timed_out = True
                kill_group(pgid, proc=proc)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_AFTER_EXIT_S:
                # the main process is gone but something in its group still holds the pipes: end it
                kill_group(pgid, grace_s=0.2)
                break
            wait = 0.05
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - now))
            for key, _ in sel.select(timeout=wait):
                fd = int(key.fd)
                splitter, is_err = splitters[fd]
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(fd)
                    for line in splitter.flush():
                        emit(line, is_err)
                    continue
                for line in splitter.feed(data):
                    emit(line, is_err)
        for splitter, is_err in splitters.values():
            for line in splitter.flush():
                emit(line, is_err)
        result.exit_code = proc.wait()
    finally:
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
    result.duration_s = time.monotonic() - start
    result.stderr_tail = list(tail)
    return result
