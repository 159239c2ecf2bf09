"""A task's `timeout`: its deadline on the attempt's context and the timer that cancels the attempt when it passes."""

from __future__ import annotations

import threading
import time
from typing import Any


def start_timer(executor: Any, task: Any, ctx: Any) -> threading.Timer | None:
    """Render the task's timeout, set `ctx.deadline` and start a timer that cancels `ctx` (None: no timeout)."""
    if not task.timeout:
        return None
    from flowrun.durations import parse_duration

    seconds = parse_duration(str(executor.render(task.timeout, ctx.variables))).total_seconds()
    ctx.deadline = time.monotonic() + seconds

    def expire() -> None:
        ctx.timed_out = True
        ctx.cancel.set()

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer
