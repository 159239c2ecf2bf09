"""The orchestrator's side of a remote attempt: send its ids to a Celery queue, wait for the worker's result.

The attempt's row in `attempt_claims` is the truth: a worker claims it, beats its heartbeat while it runs and
writes its result (outputs sealed); this side polls the row. An attempt whose worker stops beating for
`lostAfter` is settled `lost` here (guarded by its heartbeat, so a worker that was only slow can no longer
record a result) and comes back as a lost FAILED attempt, which the executor resubmits. With a Postgres state
the worker's commit of the result also wakes this side at once (`StateStore.attempt_waiting`), and the
slower poll only bounds how late a cancel, a lost worker or a missed notification is seen.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from flowrun.crypto import is_sealed
from flowrun.engine.outcomes import AttemptResult
from flowrun.errors import StateError
from flowrun.model.execution import State

if TYPE_CHECKING:
    from flowrun.engine.context import TaskContext
    from flowrun.engine.services import Services
    from flowrun.scaleout.settings import ExecutorSettings
    from flowrun.state.remote_waits import AttemptSignal
    from flowrun.tasks.base import Task

#: polling the attempt's row without notifications: first after this long, then a little slower each time, up
#: to POLL_MAX; with them, every POLL_MAX (and at once when notified)
POLL_FIRST = 0.005
POLL_MAX = 0.05


class RemoteAttempts:
    """`Services.dispatch` with the Celery executor: runs one attempt on a worker and returns its result."""

    def __init__(self, settings: ExecutorSettings, services: Services) -> None:
        self.settings = settings
        self.services = services

    def __call__(self, executor: Any, task: Task, ctx: TaskContext) -> AttemptResult:
        from flowrun.scaleout.broker import ATTEMPT_TASK, queue_for, send

        ex = executor.execution
        with self.services.db.attempt_waiting(ctx.taskrun_id, ctx.attempt) as recorded:
            try:
                send(self.settings, ATTEMPT_TASK, [ex.id, ctx.taskrun_id, ctx.attempt, ex.flow_revision],
                     queue_for(self.settings, task.worker_group))
            except StateError as exc:
                return AttemptResult(State.FAILED, error=exc.message)
            return self._wait(ex.id, ctx, recorded)

    def _wait(self, execution_id: str, ctx: TaskContext, recorded: AttemptSignal | None) -> AttemptResult:
        db, lost_after = self.services.db, self.settings.lost_after_seconds
        delay = POLL_FIRST if recorded is None else POLL_MAX
        while True:
            if recorded is None:
                time.sleep(delay)
                delay = min(delay * 1.5, POLL_MAX)
            else:
                recorded.wait(delay)
            if ctx.cancel.is_set() and db.settle_attempt(execution_id, ctx.taskrun_id, ctx.attempt, "cancelled"):
                return AttemptResult(State.KILLED)
            row = (recorded.row if recorded is not None else None) or db.attempt_claim(ctx.taskrun_id, ctx.attempt)
            if row is not None:
                self._note_worker(ctx, row["worker"])
                if row["status"] == "done":
                    return self._result(row["result"])
                stale = time.time() - lost_after
                if row["status"] == "running" and (row["heartbeat"] or 0) < stale and db.settle_attempt(
                        execution_id, ctx.taskrun_id, ctx.attempt, "lost", stale_before=stale):
                    return AttemptResult(State.FAILED, error=f"attempt {ctx.attempt} was lost: worker "
                                         f"{row['worker']} gave no heartbeat for {lost_after:g}s", lost=True)

    @staticmethod
    def _note_worker(ctx: TaskContext, worker: str | None) -> None:
        if worker and ctx.taskrun.worker != worker:
            ctx.taskrun.worker = worker
            if len(ctx.taskrun.attempts) >= ctx.attempt:
                ctx.taskrun.attempts[ctx.attempt - 1].worker = worker

    def _result(self, text: str | None) -> AttemptResult:
        doc = json.loads(text or "{}")
        outputs = self._unsealed(doc.get("outputs") or {})
        return AttemptResult(State(doc.get("state", "FAILED")), outputs, doc.get("error"), doc.get("evidence") or {})

    def _unsealed(self, value: Any) -> Any:
        """The worker's sealed values in clear for the templates, each added to this process's masker, so that
        the recorder seals them again."""
        if is_sealed(value):
            clear = self.services.cipher.unseal(value)
            self.services.masker.add_value(clear)
            return clear
        if isinstance(value, dict):
            return {k: self._unsealed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._unsealed(v) for v in value]
        return value
