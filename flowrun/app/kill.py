"""`kill_execution`: stop a running execution by signalling the flowrun process that runs it (SIGTERM)."""

from __future__ import annotations

import os
import signal

from flowrun.app.services import project_state
from flowrun.errors import UsageError
from flowrun.state.liveness import ACTIVE, host_name, pid_alive


def kill_execution(home: str | None, execution_id: str) -> str:
    """Send SIGTERM to the process running the execution; it records KILLED itself (its task processes die with
    it). Returns the execution's id. A UsageError when it is not running, or runs on another host or in this
    very process."""
    from flowrun.state.store import find_execution_row

    _, db = project_state(home)
    row = find_execution_row(db, execution_id)
    if row["state"] not in ACTIVE:
        raise UsageError(f"execution `{row['id']}` is {row['state']}; only a running execution can be killed")
    owner = db.execution_owner(row["id"]) or {}
    pid, host = owner.get("pid"), owner.get("host")
    if host != host_name():
        raise UsageError(f"execution `{row['id']}` runs on host {host}; kill it there")
    if not pid or pid == os.getpid() or not pid_alive(int(pid)):
        raise UsageError(f"execution `{row['id']}` has no live flowrun process to stop",
                         hint="the next command that opens the state marks it KILLED")
    os.kill(int(pid), signal.SIGTERM)
    return str(row["id"])
