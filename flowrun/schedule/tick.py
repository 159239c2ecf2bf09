"""`flowrun tick`: enqueue every schedule date that fell due since the last tick, then run due dates exactly once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flowrun.engine.services import StartExecution
from flowrun.errors import FlowrunError, InvalidFlowError
from flowrun.schedule import trigger_state
from flowrun.schedule.plan import ScheduleSpec, parse_moment, schedule_specs, utc_text
from flowrun.schedule.runner import Job, JobResult, run_job
from flowrun.state.protocol import StateStore
from flowrun.state.records import Claim, Key

#: an occurrence this close to `now` is "due now", not "missed" (cron starts ticks a little late)
GRACE = timedelta(seconds=60)


@dataclass
class TickReport:
    now: str
    enqueued: dict[str, int] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: PAUSED executions whose pause delay had passed, resumed by this tick
    resumed: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> int:
        return (sum(1 for run in self.runs if run["state"] not in ("SUCCESS", "WARNING"))
                + sum(1 for run in self.resumed if run["state"] not in ("SUCCESS", "WARNING", "PAUSED")))


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    return parse_moment(text, UTC).astimezone(UTC)


def discover(project: Any, problems: list[str], include_disabled: bool = False) -> list[ScheduleSpec]:
    """Every enabled schedule trigger of every enabled, valid flow of the project (or every one at all)."""
    from flowrun.load import load_project_flow

    specs: list[ScheduleSpec] = []
    for path in project.flow_files():
        try:
            flow = load_project_flow(path, project)
            if include_disabled or not flow.doc.disabled:
                specs.extend(s for s in schedule_specs(flow) if include_disabled or not s.trigger.disabled)
        except InvalidFlowError as exc:
            problems.append(f"{path}: invalid, its triggers are ignored:\n{exc.message}")
        except FlowrunError as exc:
            problems.append(f"{path}: {exc.message}")
    return specs


def due_dates(spec: ScheduleSpec, last: datetime | None, now: datetime) -> list[datetime]:
    """The dates to run at `now` given the last tick, after the trigger's recovery policy and lateMaximumDelay."""
    if last is None:
        return list(spec.occurrences(now - GRACE, now))
    if now <= last:
        return []
    due = list(spec.occurrences(last, now))
    if spec.recovery == "LAST":
        due = due[-1:]
    elif spec.recovery == "NONE":
        due = [t for t in due if t > now - GRACE]
    delay = spec.late_maximum_delay
    if delay is not None:
        due = [t for t in due if t + delay >= now]
    return due


def enqueue_due(db: StateStore, spec: ScheduleSpec, now: datetime) -> int:
    """One store transaction: read the trigger's last tick, add its due dates, move the tick on."""
    def plan(last_tick: str | None) -> tuple[list[str], str | None]:
        last = datetime.fromisoformat(last_tick) if last_tick else None
        dates = [utc_text(t) for t in due_dates(spec, last, now)]
        return dates, utc_text(now) if last is None or now > last else None

    return db.enqueue_due(spec.key, str(spec.path), plan)


def _job(spec: ScheduleSpec, claim: Claim, home: str) -> Job:
    variables = spec.variables(datetime.fromisoformat(claim.date))
    return Job(claim, str(spec.path), home, spec.inputs(variables), spec.labels(variables), variables,
               spec.trigger.stop_after)


def run_claim(db: StateStore, specs: dict[Key, ScheduleSpec], claim: Claim,
              home: str, start: StartExecution) -> JobResult | None:
    """Run one claimed date. None when it was skipped (trigger gone or disabled)."""
    spec = specs.get(claim.key)
    if spec is None or trigger_state.is_disabled(db, claim.key):
        db.skip_claim(claim)
        return None
    try:
        result = run_job(_job(spec, claim, home), start)
    except KeyboardInterrupt:
        db.release_claim(claim, requeue=True)
        raise
    if result.interrupted:
        db.release_claim(claim, requeue=True)
    elif result.execution_id is None:
        db.skip_claim(claim)
    return result


def tick(project: Any, db: StateStore, now: datetime, start: StartExecution,
         services: Callable[[], Any] | None = None, parallel: int = 1) -> TickReport:
    """Enqueue what is due for every trigger, run pending claims (from any tick) until none is left, then poll the
    http.Triggers whose interval has passed (`services()` opens what their requests need).

    With `parallel` > 1 (the celery executor: each run is an execution on a worker), that many claims run at once."""
    report = TickReport(utc_text(now))
    specs = {spec.key: spec for spec in discover(project, report.problems)}
    for spec in specs.values():
        try:
            report.enqueued["/".join(spec.key)] = enqueue_due(db, spec, now)
        except FlowrunError as exc:
            report.problems.append(exc.message)
    home = str(project.home)
    if parallel > 1:
        _run_claims_at_once(db, specs, home, start, parallel, report)
    else:
        _run_claims(db, specs, home, start, report)
    if services is not None and not report.interrupted:
        _poll_http(project, db, now, start, services, report)
    return report


def _report_run(report: TickReport, claim: Claim, result: JobResult) -> None:
    report.runs.append({"flow": f"{claim.key[0]}/{claim.key[1]}", "trigger": claim.key[2], "date": claim.date,
                        "executionId": result.execution_id, "state": result.state, "error": result.error})


def _run_claims_at_once(db: StateStore, specs: dict[Key, ScheduleSpec], home: str, start: StartExecution,
                        parallel: int, report: TickReport) -> None:
    """Take every pending claim and run up to `parallel` of them at once, each in a thread that waits for it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(parallel, thread_name_prefix="tick") as pool:
        running = []
        try:
            while (claim := db.take_next_claim()) is not None:
                running.append((claim, pool.submit(run_claim, db, specs, claim, home, start)))
            for _, future in running:
                future.result()
        except KeyboardInterrupt:  # what no worker took yet is withdrawn; what runs is waited for
            report.interrupted = True
            stop = getattr(start, "interrupt", None)
            if stop is not None:
                stop()
        for claim, future in running:
            result = future.result()
            if result is not None:
                _report_run(report, claim, result)
                report.interrupted = report.interrupted or result.interrupted


def _run_claims(db: StateStore, specs: dict[Key, ScheduleSpec], home: str, start: StartExecution,
                report: TickReport) -> None:
    while (claim := db.take_next_claim()) is not None:
        try:
            result = run_claim(db, specs, claim, home, start)
        except KeyboardInterrupt:
            report.interrupted = True
            break
        if result is None:
            continue
        _report_run(report, claim, result)
        if result.interrupted:
            report.interrupted = True
            break


def _poll_http(project: Any, db: StateStore, now: datetime, start: StartExecution, services: Callable[[], Any],
               report: TickReport) -> None:
    from flowrun.schedule.http_poll import poll_due

    try:
        runs, problems = poll_due(project, db, now, start, services)
    except KeyboardInterrupt:
        report.interrupted = True
        return
    report.runs += runs
    report.problems += problems
