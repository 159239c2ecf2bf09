"""`flowrun backfill`: replay a window of schedule dates in order, exactly once each, in parallel and resumably."""

from __future__ import annotations

import itertools
import signal
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from flowrun.errors import UsageError
from flowrun.schedule.plan import ScheduleSpec, parse_moment, schedule_specs, utc_text
from flowrun.schedule.runner import Job, JobResult, WorkerPool
from flowrun.state.liveness import HEARTBEAT_SECONDS
from flowrun.state.protocol import StateStore
from flowrun.state.records import Claim, DateStatus

REPROCESS = ("missing", "failed", "all")
ACTIVE = frozenset({"CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING", "KILLING"})
FAILED_LIKE = frozenset({"FAILED", "KILLED", "CANCELLED"})
DONE = frozenset({"SUCCESS", "WARNING"})
#: bounds of one backfill: dates run at once (each is a process), and dates in its window
MAX_PARALLEL = 64
MAX_DATES = 50_000


@dataclass
class BackfillRequest:
    flow: str
    start: str
    end: str
    triggers: list[str] | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    parallel: int = 1
    reprocess: str = "missing"
    dry_run: bool = False
    home: str | None = None

    def options(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "labels": self.labels, "reprocess": self.reprocess}


@dataclass
class DatePlan:
    """One date of the window: what the state DB says about it and what the backfill does."""

    spec: ScheduleSpec
    date: datetime
    latest_state: str | None
    latest_execution: str | None
    action: str  # run | skip
    note: str = ""
    state: str | None = None  # outcome of this backfill: an execution state, or "interrupted"
    execution_id: str | None = None
    seconds: float | None = None

    @property
    def trigger_id(self) -> str:
        return self.spec.trigger.id

    @property
    def date_text(self) -> str:
        from flowrun.schedule.cron import format_date

        return format_date(self.date, self.spec.zone)  # what variables()["date"] holds, without next/previous


@dataclass
class BackfillResult:
    id: str | None
    flow: str
    plans: list[DatePlan]
    interrupted: bool = False
    resumed: bool = False

    def count(self, *states: str) -> int:
        return sum(1 for p in self.plans if p.state in states)

    @property
    def failed(self) -> int:
        return sum(1 for p in self.plans if p.state is not None and p.state not in DONE and p.state != "interrupted")


class Progress(Protocol):
    def begin(self, result: BackfillResult, parallel: int) -> None: ...

    def started(self, plan: DatePlan) -> None: ...

    def finished(self, plan: DatePlan) -> None: ...

    def refresh(self) -> None: ...

    def end(self) -> None: ...


def decide(status: DateStatus | None, reprocess: str, backfill_id: str | None = None) -> tuple[str, str]:
    """The reprocess table: what to do with a date given its latest execution."""
    state = status.state if status else None
    if state is None:
        return "run", ""
    if state in ACTIVE:
        return "skip", f"an execution is {state} ({status.execution_id or 'starting'})" if status else ""
    if backfill_id and status and status.backfill_id == backfill_id:
        return "skip", "already done by this backfill"
    if state in FAILED_LIKE:
        return ("run", f"reprocess {state}") if reprocess in ("failed", "all") else ("skip", "")
    return ("run", f"reprocess {state}") if reprocess == "all" else ("skip", "")


def window_dates(spec: ScheduleSpec, start: str, end: str) -> list[datetime]:
    """The trigger's dates with start <= t <= end; a bare date is its whole day in the trigger's time zone."""
    low, high = parse_moment(start, spec.zone), parse_moment(end, spec.zone, end_of_day=True)
    if high < low:
        raise UsageError(f"--to {end} is before --from {start}")
    dates = list(itertools.islice(spec.occurrences(low - timedelta(microseconds=1), high), MAX_DATES + 1))
    if len(dates) > MAX_DATES:
        raise UsageError(f"the window {start} .. {end} holds more than {MAX_DATES:,} dates of trigger "
                         f"`{spec.trigger.id}`", hint="backfill a shorter window at a time")
    return dates


def plan_backfill(db: StateStore, specs: list[ScheduleSpec], request: BackfillRequest,
                  backfill_id: str | None) -> list[DatePlan]:
    plans: list[DatePlan] = []
    for spec in specs:
        statuses = db.date_statuses(spec.key)
        for moment in window_dates(spec, request.start, request.end):
            status = statuses.get(utc_text(moment))
            action, note = decide(status, request.reprocess, backfill_id)
            plans.append(DatePlan(spec, moment, status.state if status else None,
                                  status.execution_id if status else None, action, note))
    order = {spec.trigger.id: i for i, spec in enumerate(specs)}
    plans.sort(key=lambda p: (p.date, order[p.trigger_id]))
    return plans


def check_request(request: BackfillRequest) -> None:
    """UsageError for --reprocess and --parallel values that make no backfill."""
    if request.reprocess not in REPROCESS:
        raise UsageError(f"--reprocess must be one of {', '.join(REPROCESS)}")
    if not 1 <= request.parallel <= MAX_PARALLEL:
        raise UsageError(f"--parallel must be from 1 to {MAX_PARALLEL}", hint="each parallel date is a process")


def backfill_specs(flow: Any, request: BackfillRequest) -> list[ScheduleSpec]:
    """The flow's Schedule triggers to backfill (all, or those `request` names); UsageError when none."""
    from flowrun.inputs import check_declared

    check_declared(flow.inputs, request.inputs)

    specs = schedule_specs(flow, request.triggers)
    if not specs:
        raise UsageError(f"flow {flow.namespace}/{flow.id} has no Schedule trigger to backfill",
                         hint="add a io.kestra.plugin.core.trigger.Schedule trigger, or pass --trigger")
    return specs


def _resume_or_create(db: StateStore, flow: Any, specs: list[ScheduleSpec],
                      request: BackfillRequest) -> tuple[str, bool]:
    """Continue the latest interrupted backfill with the same parameters, or start a new one."""
    return db.start_backfill(flow.namespace, flow.id, [s.trigger.id for s in specs], request.start, request.end,
                             request.options())


def _finish_row(db: StateStore, result: BackfillResult) -> None:
    """Counts over the whole window, so that a resumed backfill reports all its dates."""
    succeeded = failed = 0
    statuses = {key: db.date_statuses(key) for key in {p.spec.key for p in result.plans}}
    for plan in result.plans:
        status = statuses[plan.spec.key].get(utc_text(plan.date))
        if status and status.backfill_id == result.id and status.state in DONE:
            succeeded += 1
        elif status and status.backfill_id == result.id and status.state not in ACTIVE:
            failed += 1
    state = "INTERRUPTED" if result.interrupted else ("FAILED" if failed else "SUCCESS")
    db.finish_backfill(str(result.id), state, len(result.plans), succeeded, failed,
                       len(result.plans) - succeeded - failed)


class _Dispatcher:
    """Claims each date right before it starts and keeps at most `parallel` dates running."""

    def __init__(self, db: StateStore, result: BackfillResult, request: BackfillRequest, home: str,
                 progress: Progress | None, worker: list[str] | Any) -> None:
        self.db, self.result, self.request, self.home, self.progress = db, result, request, home, progress
        size = min(request.parallel, max(1, sum(plan.action == "run" for plan in result.plans)))
        self.pool = WorkerPool(size, _log_path(home, result.id), worker) if isinstance(worker, list) else worker
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="backfill")
        self.running: dict[Future[JobResult], tuple[DatePlan, Claim]] = {}
        self.stopping = False
        self.beaten = time.monotonic()

    def _job(self, plan: DatePlan, claim: Claim) -> Job:
        spec, variables = plan.spec, plan.spec.variables(plan.date)
        labels = {**spec.labels(variables), **self.request.labels, "backfill": "true", "backfillId": str(self.result.id)}
        return Job(claim, str(spec.path), self.home, {**spec.inputs(variables), **self.request.inputs}, labels,
                   variables, spec.trigger.stop_after)

    def launch(self, plan: DatePlan) -> None:
        claim = self.db.take_date_claim(plan.spec.key, utc_text(plan.date), plan.latest_execution, "backfill",
                                        str(plan.spec.path), self.result.id)
        if claim is None:
            plan.action, plan.note = "skip", "taken by another tick, run or backfill meanwhile"
            return
        self.running[self.threads.submit(self.pool.run, self._job(plan, claim))] = (plan, claim)
        if self.progress:
            self.progress.started(plan)

    def settle(self, future: Future[JobResult]) -> None:
        plan, claim = self.running.pop(future)
        result = future.result()
        plan.execution_id, plan.seconds = result.execution_id, result.seconds
        if result.interrupted or result.execution_id is None:
            self.db.release_claim(claim)
        plan.state = "interrupted" if result.interrupted else result.state
        if result.error and not plan.note:
            plan.note = result.error.splitlines()[0][:200]
        if result.interrupted:
            self.stopping = True
        if self.progress:
            self.progress.finished(plan)

    def drive(self, todo: deque[DatePlan]) -> None:
        while todo or self.running:
            while todo and not self.stopping and len(self.running) < self.request.parallel:
                self.launch(todo.popleft())
            if not self.running:
                if self.stopping:
                    return
                continue
            done, _ = wait(list(self.running), timeout=0.25, return_when=FIRST_COMPLETED)
            for future in done:
                self.settle(future)
            self.beat()
            if self.progress:
                self.progress.refresh()
            if self.stopping and not self.running:
                return

    def beat(self) -> None:
        """Refresh the backfill's heartbeat every HEARTBEAT_SECONDS, so that another host sharing the state
        takes it for dead (and resumes it) only once this loop stopped."""
        if time.monotonic() - self.beaten >= HEARTBEAT_SECONDS:
            self.beaten = time.monotonic()
            try:
                self.db.beat_backfill(str(self.result.id))
            except Exception:  # a missed beat is harmless; the next one retries
                pass

    def interrupt(self) -> None:
        self.stopping = True
        self.result.interrupted = True
        self.pool.interrupt()

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        self.pool.close()


def _log_path(home: str, backfill_id: str | None) -> Any:
    from pathlib import Path

    return Path(home) / "backfills" / f"{backfill_id}.log"


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt()


def _execute(db: StateStore, result: BackfillResult, request: BackfillRequest, home: str,
             progress: Progress | None, worker: list[str] | Any) -> None:
    dispatcher = _Dispatcher(db, result, request, home, progress, worker)
    todo = deque(p for p in result.plans if p.action == "run")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while True:
            try:
                dispatcher.drive(todo)
                break
            except KeyboardInterrupt:
                dispatcher.interrupt()
    finally:
        signal.signal(signal.SIGTERM, previous)
        dispatcher.close()
    result.interrupted = result.interrupted or any(p.state == "interrupted" for p in result.plans)


def run_backfill(request: BackfillRequest, flow: Any, db: StateStore, specs: list[ScheduleSpec], home: str,
                 worker: list[str] | Any, progress: Progress | None = None) -> BackfillResult:
    """Plan the window; unless it is a dry run, run the dates marked `run` (each in a `worker` process, or
    through `worker`, a pool object such as runner.InProcessPool) and record the backfill."""
    name = f"{flow.namespace}/{flow.id}"
    if request.dry_run:
        return BackfillResult(None, name, plan_backfill(db, specs, request, None))
    backfill_id, resumed = _resume_or_create(db, flow, specs, request)
    result = BackfillResult(backfill_id, name, plan_backfill(db, specs, request, backfill_id), resumed=resumed)
    if progress:
        progress.begin(result, request.parallel)
    try:
        _execute(db, result, request, home, progress, worker)
    finally:
        _finish_row(db, result)
        if progress:
            progress.end()
    return result


def list_backfills(db: StateStore, limit: int = 50) -> list[dict[str, Any]]:
    """Past backfills, newest first, with their counts."""
    return [{"id": r["id"], "flow": f"{r['namespace']}/{r['flow_id']}", "triggers": r["triggers"],
             "from": r["window_start"], "to": r["window_end"], "options": r["options"],
             "state": r["state"], "total": r["total"], "succeeded": r["succeeded"], "failed": r["failed"],
             "skipped": r["skipped"], "createdAt": r["created_at"], "endedAt": r["ended_at"]}
            for r in db.backfill_rows(limit)]
