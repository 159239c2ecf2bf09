"""Process groups on this host: a process's start identity (against pid reuse), group liveness and killing."""

from __future__ import annotations

import functools
import os
import signal
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

KILL_GRACE_S = 2.0
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state is [0]), or None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_identity(pid: int) -> str | None:
    """Who `pid` is: boot id and start time on Linux ("" where that is unknown); None when there is no such process.

    Two processes with the same pid but different identities are different processes (the pid was reused).
    """
    if os.path.isdir("/proc/self"):
        fields = _stat_fields(pid)
        if fields is None:
            return None
        return f"{_boot_id()}:{int(fields[19])}"
    try:  # pragma: no cover - not Linux
        os.kill(pid, 0)
    except ProcessLookupError:  # pragma: no cover
        return None
    except PermissionError:  # pragma: no cover
        pass
    return ""  # pragma: no cover


_own: dict[int, str | None] = {}  # this process's identity, by pid (a forked child has its own)


@functools.cache
def _boot_id() -> str:
    """Read once: it changes only with a reboot."""
    try:
        with open(_BOOT_ID, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:  # pragma: no cover - a Linux without boot_id
        return ""


def own_identity() -> str | None:
    """`start_identity` of this process, read once per process."""
    pid = os.getpid()
    if pid not in _own:
        _own[pid] = start_identity(pid)
    return _own[pid]


def process_alive(pid: int, identity: str) -> bool:
    """Whether `pid` still runs (not a zombie) and is the same process as the one recorded with `identity`."""
    current = start_identity(pid)
    if current is None or (identity and current != identity):
        return False
    fields = _stat_fields(pid)
    return fields is None or fields[0] != b"Z"


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the group (zombies whose reaper is slow do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's group
        return True
    if not os.path.isdir("/proc/self"):  # pragma: no cover - not Linux
        return True
    return bool(group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """The pids of the live (non-zombie) processes in group `pgid` (Linux; empty elsewhere)."""
    members = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc/self") else []:
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and int(fields[2]) == pgid and fields[0] != b"Z":
                members.append(int(entry))
    return members


def is_recorded_group(pgid: int, leader_identity: str) -> bool:
    """Whether group `pgid` still runs and is the one recorded (its leader, if alive, has the recorded identity).

    A group whose leader died keeps its number while any member lives: the number cannot be reused
    until the group is empty, so members without a leader are still the recorded group.
    """
    current = start_identity(pgid)
    if current is not None and leader_identity and current != leader_identity:
        return False
    return group_alive(pgid)


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
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
