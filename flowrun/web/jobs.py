"""Starting the child process of one action (flowrun.web.job) and reading the line that says what it started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from flowrun.web.security import TOKEN_ENV

COMMAND = [sys.executable, "-m", "flowrun.web.job"]
#: how long a request waits for the child to say what it started (loading a flow, resolving inputs)
FIRST_LINE_SECONDS = 60.0


@dataclass
class Started:
    """What the child said: the execution id, or an error (message, hint); `process` runs on."""

    reply: dict[str, Any]
    process: subprocess.Popen[bytes]

    @property
    def error(self) -> str | None:
        error = self.reply.get("error")
        return str(error) if error else None

    @property
    def execution_id(self) -> str | None:
        return self.reply.get("id")

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)


def start(action: dict[str, Any], home: str | None, log_path: str | None = None) -> Started:
    """Spawn the child (its own session: it outlives the request, as `flowrun run` would), send the action,
    and block until its first line. A reaper thread collects it when it ends."""
    env = {name: value for name, value in os.environ.items() if name != TOKEN_ENV}  # no flow sees the UI's token
    if home:
        env["FLOWRUN_HOME"] = home
    stderr: Any = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    process = subprocess.Popen(COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                               start_new_session=True)
    if log_path:
        stderr.close()
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps({**action, "home": home}, default=str).encode())
    process.stdin.close()
    line = _first_line(process)
    threading.Thread(target=process.wait, name="flowrun-job-reaper", daemon=True).start()
    try:
        reply = json.loads(line) if line else {"error": "the action's process ended without a word", "hint": ""}
    except ValueError:
        reply = {"error": f"the action's process said: {line[:200]!r}", "hint": ""}
    return Started(reply, process)


def _first_line(process: subprocess.Popen[bytes]) -> str:
    box: list[bytes] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(FIRST_LINE_SECONDS)
    if not reader.is_alive():
        process.stdout.close()
    return box[0].decode("utf-8", "replace").strip() if box else ""
