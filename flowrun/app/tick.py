"""`tick`: run every schedule date that fell due since the last tick; the project's schedules and crontab line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowrun.app.services import open_services, open_state, project_state
from flowrun.project import open_project
from flowrun.schedule.tick import TickReport


def tick(home: str | None, path: str | None, now: str | None) -> TickReport:
    """Open the project at `path` (default: the current dir) and tick it at `now` (ISO-8601; default: now)."""
    from flowrun.app.run import start_execution
    from flowrun.schedule.tick import parse_now
    from flowrun.schedule.tick import tick as run_tick

    project = open_project(home, Path(path).resolve() if path else None)
    return run_tick(project, open_state(project), parse_now(now), start_execution,
                    services=lambda: open_services(project))


def list_schedules(home: str | None, now: str | None, count: int = 5) -> tuple[list[dict[str, Any]], list[str]]:
    """One entry per schedule trigger of the project's flows (next dates, last run), and the flows that did not
    load."""
    from flowrun.schedule.schedule_list import list_schedules as describe
    from flowrun.schedule.tick import parse_now

    moment = parse_now(now)
    project, db = project_state(home)
    return describe(project, db, moment, count)


def cron_line(home: str | None) -> str:
    """The crontab line that ticks this project every minute, logging to the state dir."""
    from flowrun.schedule.schedule_list import cron_line as line

    return line(open_project(home))
