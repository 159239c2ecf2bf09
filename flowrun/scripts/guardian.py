"""The guardian: kills the task process groups a flowrun process leaves behind when it dies (run as a script).

flowrun writes `+PGID` when a task process group starts and `-PGID` when it ended, one per line, on this
program's stdin. When stdin reaches end of file, the flowrun process is gone (exited or killed, even with
`kill -9`): every group still registered is terminated, then killed. Standard library only, so that it starts
with `python -I -S` in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE_S = 0.5


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(groups: set[int], signum: int) -> None:
    for pgid in groups:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def watch(stream: object) -> set[int]:
    """Follow the registrations until end of file; return the groups still registered then."""
    groups: set[int] = set()
    for line in stream:  # type: ignore[attr-defined]
        text = line.strip()
        if len(text) > 1 and text[1:].isdigit():
            pgid = int(text[1:])
            if text[:1] == b"+":
                groups.add(pgid)
            else:
                groups.discard(pgid)
    return groups


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    groups = watch(sys.stdin.buffer)
    _signal(groups, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while groups and time.monotonic() < deadline:
        time.sleep(0.02)
        groups = {pgid for pgid in groups if _alive(pgid)}
    _signal(groups, signal.SIGKILL)


if __name__ == "__main__":
    main()
