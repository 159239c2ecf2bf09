"""Tie task processes to the flowrun process: a guardian kills what a dead flowrun left, by group and by token.

So that a `kill -9` of flowrun leaves nothing of its tasks running:
- a guardian process (one per flowrun process, started on first use, in its own session, so that the end of
  the thread that happened to start it does not matter) learns each task process group and kills the groups
  still registered when flowrun's end closes its stdin. That reaches grandchildren (`sleep 1000 &`) too;
- each guardian has a random token, and every task process starts with it in its environment
  (`FLOWRUN_LIFELINE`, see `Guardian.environ`), so that its descendants carry it too. At flowrun's end the
  guardian also kills every process whose environment carries the token: a descendant that left the task's
  group (`setsid`), and a task process that flowrun died before registering (see flowrun/scripts/guardian.py).
No per-spawn wrapper or `preexec_fn` is needed, so Python starts each task with vfork(), not a fork() of the
whole flowrun process. A last layer, for when the guardian is gone too (reboot, the guardian killed), is the
reaper in flowrun.state.processes, which kills recorded groups whose flowrun process died.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_GUARDIAN = Path(__file__).with_name("guardian.py")
#: the environment variable that carries the guardians' tokens (several, `:`-separated, when flowrun runs flowrun)
VARIABLE = "FLOWRUN_LIFELINE"


class Guardian:
    """The flowrun side of the guardian: start it once, then announce spawns and (un)register task process groups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid that started it (a forked child must start its own, with its own token)
        self._token = ""
        self._broken = False

    def _start(self) -> None:
        if self._owner != os.getpid():
            self._token = os.urandom(16).hex()
        # the guardian must not carry the token of a flowrun that runs this one: that one's guardian would kill it
        env = {k: v for k, v in os.environ.items() if k != VARIABLE} if VARIABLE in os.environ else None
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_GUARDIAN), self._token], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True, env=env)
        self._owner = os.getpid()

    def _send(self, line: str) -> None:
        with self._lock:
            for _ in range(2):  # a guardian that died is replaced once
                if self._broken:
                    return
                try:
                    if self._proc is None or self._owner != os.getpid():
                        self._start()
                except OSError:  # cannot start one: the reaper remains
                    self._broken = True
                    return
                assert self._proc is not None and self._proc.stdin is not None
                try:
                    self._proc.stdin.write(line.encode("ascii"))
                    self._proc.stdin.flush()
                    return
                except OSError:
                    self._proc = None

    def environ(self, env: dict[str, str]) -> dict[str, str]:
        """A copy of `env` that carries this guardian's token (added to those of flowruns that run this one).

        Starts the guardian if needed, so that it already runs when the task process starts.
        """
        with self._lock:
            if not self._broken and (self._proc is None or self._owner != os.getpid()):
                try:
                    self._start()
                except OSError:
                    self._broken = True
            token = self._token
        inherited = env.get(VARIABLE)
        if not token:  # pragma: no cover - a token is drawn before the first start, even one that failed
            return dict(env)
        return {**env, VARIABLE: f"{inherited}:{token}" if inherited else token}

    def spawn(self, popen: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """Run `popen` (which starts a task process in a new session, with `environ`'s env) and register its group.

        The spawn is announced first: if flowrun dies before the registration, the guardian waits for the new
        process to exec and finds it by its token.
        """
        self._send("*\n")
        try:
            proc = popen()
        except BaseException:
            self._send("!\n")
            raise
        self._send(f"+{proc.pid}\n")
        return proc

    def unregister(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    @property
    def pid(self) -> int | None:
        """The guardian's pid, once started (for tests and diagnostics)."""
        return self._proc.pid if self._proc is not None else None


GUARDIAN = Guardian()
