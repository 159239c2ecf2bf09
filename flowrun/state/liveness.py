"""Whether the flowrun process behind a row still lives: its pid on this host, its heartbeat from elsewhere."""

from __future__ import annotations

import os
import time

#: the execution states in which some flowrun process is (or should be) working on it
ACTIVE = ("CREATED", "QUEUED", "RUNNING", "RETRYING", "KILLING")
#: the error reap_dead writes on an execution whose process died
DIED = "the flowrun process running it died"
HEARTBEAT_SECONDS = 5.0
#: a process on another host whose latest sign of life is older than this counts as gone
STALE_SECONDS = 60.0
#: the `host` of an execution handed to the broker (scale-out) that no worker has taken yet: no process owns it
ENQUEUED_HOST = "(enqueued)"


def host_name() -> str:
    """This machine's host name, as `socket.gethostname()` gives it (without importing socket: start-up)."""
    return os.uname().nodename


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def owner_alive(host: str | None, pid: int | None, last_seen: float | None) -> bool:
    """A process recorded as (host, pid), last seen at `last_seen` (Unix time): is it still there?"""
    if host == host_name():
        return bool(pid) and pid_alive(int(pid or 0))
    return (last_seen or 0.0) > time.time() - STALE_SECONDS


def owner() -> tuple[int, str, float]:
    """(pid, host, now) of this process, as recorded on the rows it takes."""
    return os.getpid(), host_name(), time.time()
