"""`tick`: run every schedule date that fell due since the last tick; the project's schedules and crontab line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flowrun.app.services import open_services, open_state, project_state
from flowrun.engine.services import StartExecution
from flowrun.errors import FlowrunError, InputError
from flowrun.project import open_project
from flowrun.schedule.tick import TickReport


def tick(home: str | None, path: str | None, now: str | None) -> TickReport:
    """Open the project at `path` (default: the current dir) and tick it at `now` (ISO-8601; default: now):
    schedules and http.Triggers, then the PAUSED executions whose pause delay has passed."""
    from flowrun.app.run import start_execution
    from flowrun.schedule.tick import parse_now
    from flowrun.schedule.tick import tick as run_tick

    project = open_project(home, Path(path).resolve() if path else None)
    moment = parse_now(now)
    db = open_state(project)
    start: StartExecution = start_execution
    parallel = 1
    if project.executor.celery:  # each due date is a whole execution on a worker; this tick waits for them
        from flowrun.app.enqueue import IN_FLIGHT, remote_starter
        from flowrun.scaleout.broker import check

        check(project.executor)
        start, parallel = remote_starter(start_execution), IN_FLIGHT
    report = run_tick(project, db, moment, start, services=lambda: open_services(project), parallel=parallel)
    if not report.interrupted:
        resume_due(project, db, moment, report)
    return report


def resume_due(project: Any, db: Any, now: datetime, report: TickReport) -> None:
    """Resume every PAUSED execution whose pause delay has passed (each pause once, whatever ticks run)."""
    from flowrun.app.continuation import continue_execution
    from flowrun.state.pauses import run_by_live_process

    for execution_id, delays in db.take_due_pauses(now, run_by_live_process).items():
        try:
            execution = continue_execution(execution_id, "resume", str(project.home), delays=delays,
                                           start=project.root)
        except InputError as exc:  # onResume inputs an execution.Resume asked for: they will never fit
            report.problems.append(f"execution {execution_id}: its pause was not resumed: {exc.message}")
            continue
        except FlowrunError as exc:
            for task_run_id, due in delays.items():  # not resumed: the next tick tries again
                db.record_pause_delay(execution_id, task_run_id, now, due.state, due.inputs)
            report.problems.append(f"execution {execution_id}: cannot resume its pause: {exc.message}")
            continue
        except KeyboardInterrupt:
            report.interrupted = True
            return
        report.resumed.append({"flow": f"{execution.namespace}/{execution.flow_id}", "executionId": execution.id,
                               "state": str(execution.state), "error": execution.error})


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
