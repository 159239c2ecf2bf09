"""Tie task processes to the flowrun process: the leader dies with its thread, the rest of the group via a guardian.

Two layers, so that a `kill -9` of flowrun leaves nothing running:
- on Linux, each task's main process gets PR_SET_PDEATHSIG(SIGKILL). The kernel sends it when the *thread*
  that started the process ends; flowrun starts a task process in the thread that then waits for it
  (`run_program`), so that thread never ends first;
- a guardian process (one per flowrun process, started on first use, in its own session and with no
  death signal, so that the end of the thread that happened to start it does not matter) learns each task
  process group and kills the groups still registered when flowrun's end closes its stdin. This reaches
  grandchildren (`sleep 1000 &`) that the death signal does not.
A third layer, for when both are gone too (reboot, the guardian killed), is the reaper in
flowrun.state.processes, which kills recorded groups whose flowrun process died.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_GUARDIAN = Path(__file__).with_name("guardian.py")


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):  # pragma: no cover - not Linux
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


_prctl = _load_prctl()


def death_signal_hook() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child die (SIGKILL) when the calling thread ends; None where unsupported.

    If the parent died between fork and prctl, the child is already orphaned: it kills itself.
    """
    if _prctl is None:  # pragma: no cover - not Linux
        return None
    prctl, parent = _prctl, os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class Guardian:
    """The flowrun side of the guardian: start it once, then register and unregister task process groups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid that started it (a forked child must start its own)
        self._broken = False

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_GUARDIAN)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        self._owner = os.getpid()

    def _send(self, line: str) -> None:
        with self._lock:
            for _ in range(2):  # a guardian that died is replaced once
                if self._broken:
                    return
                try:
                    if self._proc is None or self._owner != os.getpid():
                        self._start()
                except OSError:  # cannot start one: the death signal and the reaper remain
                    self._broken = True
                    return
                assert self._proc is not None and self._proc.stdin is not None
                try:
                    self._proc.stdin.write(line.encode("ascii"))
                    self._proc.stdin.flush()
                    return
                except OSError:
                    self._proc = None

    def prepare(self) -> None:
        """Start the guardian now, so that it already runs when the task process starts."""
        with self._lock:
            if not self._broken and (self._proc is None or self._owner != os.getpid()):
                try:
                    self._start()
                except OSError:
                    self._broken = True

    def register(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def unregister(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    @property
    def pid(self) -> int | None:
        """The guardian's pid, once started (for tests and diagnostics)."""
        return self._proc.pid if self._proc is not None else None


GUARDIAN = Guardian()
