"""The guardian: kills the task processes a flowrun process leaves behind when it dies (run as `guardian.py TOKEN`).

flowrun writes one line per event on this program's stdin: `*` before it spawns a task process, `+PGID` once the
spawn started process group PGID, `!` when the spawn failed, `-PGID` when the group ended. Every task process
starts with TOKEN (random, one per flowrun process) in its environment, and so does each descendant that keeps
its environment. When stdin reaches end of file, the flowrun process is gone (exited or killed, even with
`kill -9`): every group still registered and every process whose environment carries TOKEN (with its group)
is terminated, then killed after a grace period. The scan of /proc closes two gaps of the registration: a
spawn that flowrun died before registering (its child holds the write end of this pipe until it execs, so
that end of file comes after the exec, or while the exec runs: the scan is repeated while a spawn was in
flight and some process may still be about to carry TOKEN), and a descendant that left its group (`setsid`).
Standard library only, so that it starts with `python -I -S` in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE_S = 0.5
#: how long to wait for a spawn that was in flight to exec (and so to carry the token) when flowrun died
SETTLE_S = 2.0
#: the last SIGKILL pass ends this long after the grace period (a process in uninterruptible sleep may not die)
KILL_WAIT_S = 0.5
POLL_S = 0.02
#: how often the pipe is read while flowrun runs
READ_EVERY_S = 0.05
_PF_FORKNOEXEC = 0x40  # /proc/PID/stat flags: forked, has not exec'd yet
_PF_KTHREAD = 0x200000


def watch(fd: int, pause_s: float = READ_EVERY_S) -> tuple[set[int], int]:
    """Follow the events until end of file; return the groups still registered then and the spawns in flight.

    The pipe is read every `pause_s`, not as each line comes: a write then wakes no sleeping reader, which
    would cost flowrun tens of microseconds a line; the pipe's buffer holds far more than that interval's lines.
    """
    groups: set[int] = set()
    in_flight, rest = 0, b""
    while chunk := os.read(fd, 65536):
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            in_flight = apply(line.strip(), groups, in_flight)
        time.sleep(pause_s)
    return groups, in_flight  # flowrun writes whole lines (each write is atomic): no rest is left


def apply(text: bytes, groups: set[int], in_flight: int) -> int:
    """Apply one event to the registered `groups`; return the new number of spawns in flight."""
    if text == b"*":
        return in_flight + 1
    if text == b"!":
        return max(0, in_flight - 1)
    if len(text) > 1 and text[1:].isdigit():
        pgid = int(text[1:])
        if text[:1] == b"+":
            groups.add(pgid)
            return max(0, in_flight - 1)
        groups.discard(pgid)
    return in_flight


def scan(token: bytes, settling: bool) -> tuple[dict[int, int], bool]:
    """The live processes whose environment carries `token` (pid -> pgid), and whether some may be about to.

    The second answer is looked for only when `settling`: a process that called setsid but has not exec'd yet
    (a task process between Popen's setsid and its exec; a daemon that forked without exec looks the same,
    which only makes the guardian wait longer), or one whose exec is under way (its new environment is not
    readable yet). Processes of other users are not readable and are skipped.
    """
    carriers: dict[int, int] = {}
    unsettled = False
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:  # pragma: no cover - no /proc (not Linux): the registered groups remain
        entries = []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
            if token in environ:
                carriers[pid] = os.getpgid(pid)
            elif settling and not unsettled:
                unsettled = _about_to_exec(pid, environ)
        except OSError:  # gone, or not ours to read
            continue
    return carriers, unsettled


def _about_to_exec(pid: int, environ: bytes) -> bool:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    flags = int(fields[6])
    if fields[0] in (b"Z", b"X") or flags & _PF_KTHREAD:
        return False
    return not environ or (bool(flags & _PF_FORKNOEXEC) and int(fields[3]) == pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(groups: set[int], pids: set[int], signum: int) -> None:
    for send, targets in ((os.killpg, groups), (os.kill, pids)):
        for target in targets:
            try:
                send(target, signum)
            except (ProcessLookupError, PermissionError):
                pass


def finish(groups: set[int], token: bytes, in_flight: int) -> None:
    """Terminate the registered groups and the token's carriers, kill what is left after the grace period."""
    start = time.monotonic()
    kill_at, settle_until = start + GRACE_S, start + (SETTLE_S if in_flight else 0.0)
    give_up = max(kill_at, settle_until) + KILL_WAIT_S
    live_groups, live_pids = set(groups), set[int]()
    termed_groups: set[int] = set()
    termed_pids: set[int] = set()
    while True:
        now = time.monotonic()
        settling = now < settle_until
        carriers, unsettled = scan(token, settling) if token else ({}, False)
        live_pids = {pid for pid in live_pids if _alive(pid)} | set(carriers)
        live_groups = {pgid for pgid in live_groups | set(carriers.values()) if _group_alive(pgid)}
        if not live_groups and not live_pids and not unsettled:
            return
        _signal(live_groups - termed_groups, live_pids - termed_pids, signal.SIGTERM)
        termed_groups |= live_groups
        termed_pids |= live_pids
        if now >= kill_at:
            _signal(live_groups, live_pids, signal.SIGKILL)
        if now >= give_up:
            return
        time.sleep(POLL_S)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    token = sys.argv[1].encode("ascii") if len(sys.argv) > 1 else b""
    groups, in_flight = watch(sys.stdin.fileno())
    finish(groups, token, in_flight)


if __name__ == "__main__":
    main()
