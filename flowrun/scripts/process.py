"""Run one program in its own process group, streaming its lines out and killing the whole group on demand."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: called with (line, is_stderr) for every complete output line, in the calling thread
LineSink = Callable[[str, bool], None]

KILL_GRACE_S = 2.0
#: how long to keep reading after the main process exited while a grandchild still holds the pipes open
DRAIN_AFTER_EXIT_S = 0.3


@dataclass
class ProcessResult:
    """How a program ended."""

    exit_code: int
    timed_out: bool = False
    cancelled: bool = False
    duration_s: float = 0.0
    stderr_tail: list[str] = field(default_factory=list)
    stdout_lines: int = 0
    stderr_lines: int = 0


def kill_group(pgid: int, grace_s: float = KILL_GRACE_S, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace_s`."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if proc is not None:
            proc.poll()
        if not _group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the group (zombies whose reaper is slow do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's group
        return True
    if not os.path.isdir("/proc/self"):  # pragma: no cover - not Linux
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


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
) -> ProcessResult:
    """Run `argv` to completion in a new session; stream lines to `on_line`; honour cancel and timeout.

    On timeout or cancel the whole process group (children and grandchildren) is terminated.
    Raises FileNotFoundError/PermissionError when the program itself cannot be started.
    """
    start = time.monotonic()
    deadline = start + timeout_s if timeout_s else None
    proc = subprocess.Popen(
        argv, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
    )
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
        if proc.poll() is None:
            kill_group(pgid, grace_s=0.2)
            proc.wait()
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
    result.duration_s = time.monotonic() - start
    result.stderr_tail = list(tail)
    return result
