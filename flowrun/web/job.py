"""A child process of `flowrun server` that runs one action (run, restart, replay, resume, backfill, webhook).

It reads the action as JSON on stdin, calls the app use case as the CLI would, and writes one JSON line on
stdout as soon as it knows the outcome to report: `{"id": EXECUTION_ID}` when the execution is recorded (or
`{"ok": true}` when a backfill starts), else `{"error": MESSAGE, "hint": HINT}`. Then it runs to the end; the
execution's own process records its states, so that kill (SIGTERM) works as for `flowrun run`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from flowrun.engine.events import BaseListener


class Announcer(BaseListener):
    """Writes the first line once (the execution id, or an error) and closes stdout."""

    def __init__(self) -> None:
        self.sent = False

    def send(self, payload: dict[str, Any]) -> None:
        if self.sent:
            return
        self.sent = True
        os.write(1, (json.dumps(payload) + "\n").encode())
        os.close(1)

    def execution_updated(self, execution: Any) -> None:
        self.send({"id": execution.id})


class BackfillAnnouncer:
    """A backfill `Progress` that announces the backfill's id once it is recorded."""

    def __init__(self, announce: Announcer) -> None:
        self.announce = announce

    def begin(self, result: Any, parallel: int) -> None:
        self.announce.send({"id": result.id, "backfill": True})

    def started(self, plan: Any) -> None:
        pass

    def finished(self, plan: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    def end(self) -> None:
        pass


def perform(action: dict[str, Any], announce: Announcer) -> None:
    """Run `action` (its `kind` names the use case) to its end."""
    kind, home = action["kind"], action.get("home")
    if kind == "run":
        from flowrun.app.run import RunOptions, start_execution

        inputs = action.get("inputs") or {}
        options = RunOptions(inputs=inputs, labels=action.get("labels") or {}, home=home, listeners=[announce],
                             strict_inputs=set(inputs))
        start_execution(action["flow"], options).run()
    elif kind == "webhook":
        from flowrun.app.webhook import start_webhook_execution

        run = start_webhook_execution(home, action["namespace"], action["flowId"], action["key"], action["request"])
        if run is None:
            announce.send({"skipped": True})
            return
        run.options.listeners.append(announce)
        run.run()
    elif kind in ("restart", "replay", "resume"):
        from flowrun.app.continuation import continue_execution

        continue_execution(action["execution"], kind, home, from_task=action.get("fromTask"),
                           resume_inputs=action.get("inputs"), listeners=[announce],
                           latest=bool(action.get("latest")))
    elif kind == "backfill":
        from flowrun.app.backfill import BackfillRequest, backfill

        backfill(BackfillRequest(**action["request"]), BackfillAnnouncer(announce))


def main() -> None:
    from flowrun.errors import FlowrunError

    announce = Announcer()
    try:
        perform(json.loads(sys.stdin.read()), announce)
    except FlowrunError as exc:
        announce.send({"error": exc.message, "hint": exc.hint or ""})
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # a bug: say it on the page rather than hang the request
        announce.send({"error": f"internal error: {type(exc).__name__}: {exc}", "hint": ""})
        raise
    announce.send({"error": "the action ended without recording an execution", "hint": ""})


if __name__ == "__main__":
    main()
