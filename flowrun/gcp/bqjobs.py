"""Submit a BigQuery job under a taskrun-derived id, log its id and SQL, wait for it (cancellable), report failures."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from flowrun.errors import TaskError, TaskKilled
from flowrun.gcp.errors import api_error, api_failures

DEFAULT_RETRY_REASONS = ["rateLimitExceeded", "jobBackendError", "backendError", "internalError", "jobInternalError"]
DEFAULT_RETRY_MESSAGES = ["due to concurrent update", "Retrying the job may solve the problem",
                          "Retrying may solve the problem"]
MAX_JOB_ATTEMPTS = 10


def job_id(ctx: Any) -> str:
    """Kestra's `kestra_<taskRunId>` (with `_<n>` for the n-th retry attempt): a resubmit finds the same job."""
    base = "kestra_" + re.sub(r"[^A-Za-z0-9_-]", "_", str(getattr(ctx, "taskrun_id", "") or uuid.uuid4().hex))
    attempt = int(getattr(ctx, "attempt", 1) or 1)
    return base if attempt <= 1 else f"{base}_{attempt - 1}"


def api_retry(emulated: bool) -> Any:
    """The client's HTTP retry, short against an emulator (whose 500s are deterministic, not transient)."""
    from google.cloud.bigquery import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(5.0 if emulated else 600.0)


class JobRunner:
    """Runs jobs for one task attempt: ids, logging, waiting, cancellation and Kestra's automatic retries."""

    def __init__(self, task_id: str, ctx: Any, retry_reasons: list[str] | None = None,
                 retry_messages: list[str] | None = None) -> None:
        self.task_id = task_id
        self.ctx = ctx
        self.retry_reasons = DEFAULT_RETRY_REASONS if retry_reasons is None else retry_reasons
        self.retry_messages = DEFAULT_RETRY_MESSAGES if retry_messages is None else retry_messages

    def run(self, start: Callable[[str], Any], kind: str, sql: str | None = None) -> Any:
        """Start a job with `start(job_id)`, wait for it and return it; retried on Kestra's retryable reasons."""
        base = job_id(self.ctx)
        delay = 5.0
        for attempt in range(MAX_JOB_ATTEMPTS):
            wanted = base if attempt == 0 else f"{base}_r{attempt}"
            job = self._start(start, wanted, kind, sql)
            self._wait(job)
            error = job.error_result
            if not error:
                self._log_done(job, kind)
                return job
            if attempt + 1 < MAX_JOB_ATTEMPTS and self._retryable(job):
                self.ctx.logger.warn(f"BigQuery job {job.job_id} failed ({error.get('reason')}): retrying in "
                                     f"{delay:.0f}s")
                if self.ctx.cancel.wait(delay):
                    raise TaskKilled("interrupted while waiting to retry a BigQuery job")
                delay = min(delay * 2, 60.0)
                continue
            raise self.job_failed(job, kind, sql)
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, start: Callable[[str], Any], wanted: str, kind: str, sql: str | None) -> Any:
        from google.api_core import exceptions

        try:
            job = start(wanted)
        except exceptions.Conflict:  # the id is taken by an earlier, failed submission: use a fresh one
            job = start(f"{wanted}_{uuid.uuid4().hex[:8]}")
        except api_failures() as exc:
            raise self.call_failed(exc, kind, sql, wanted) from None
        where = f" in {job.location}" if getattr(job, "location", None) else ""
        text = f": {sql.strip()}" if sql else ""
        self.ctx.logger.info(f"BigQuery {kind} job {job.job_id}{where} started{text}")
        return job

    def _wait(self, job: Any) -> None:

        pause = 0.05
        while True:
            try:
                if job.done(retry=api_retry(True), timeout=30):
                    return
            except api_failures() as exc:
                if job.error_result:
                    return
                raise self.call_failed(exc, "status of", None, job.job_id) from None
            if self.ctx.cancel.wait(pause):
                try:
                    job.cancel()
                    self.ctx.logger.warn(f"BigQuery job {job.job_id} cancelled")
                except Exception as exc:  # noqa: BLE001 - best effort on the way out
                    self.ctx.logger.warn(f"could not cancel BigQuery job {job.job_id}: {exc}")
                raise TaskKilled(f"BigQuery job {job.job_id} interrupted")
            pause = min(pause * 1.5, 1.0)

    def _retryable(self, job: Any) -> bool:
        for error in [job.error_result, *(job.errors or [])]:
            if not error:
                continue
            if error.get("reason") in self.retry_reasons:
                return True
            message = str(error.get("message") or "").lower()
            if any(m.lower() in message for m in self.retry_messages):
                return True
        return False

    def _log_done(self, job: Any, kind: str) -> None:
        parts = []
        statement = getattr(job, "statement_type", None)
        if statement:
            parts.append(statement)
        affected = getattr(job, "num_dml_affected_rows", None)
        if affected is not None:
            parts.append(f"{affected} rows affected")
        rows = getattr(job, "output_rows", None)
        if rows is not None:
            parts.append(f"{rows} rows loaded")
        detail = f" ({', '.join(parts)})" if parts else ""
        self.ctx.logger.info(f"BigQuery {kind} job {job.job_id} done{detail}")

    def job_failed(self, job: Any, kind: str, sql: str | None) -> TaskError:
        """`task `x`: BigQuery query job <id> failed: <message> (<reason>)`, with the SQL as evidence."""
        error = job.error_result or {}
        reason = error.get("reason")
        message = str(error.get("message") or "unknown error").strip().splitlines()[0]
        text = f"task `{self.task_id}`: BigQuery {kind} job {job.job_id} failed: {message}"
        evidence = {"jobId": job.job_id, "reason": reason, "location": job.location, "sql": sql}
        return TaskError(text + (f" ({reason})" if reason else ""),
                         evidence={k: v for k, v in evidence.items() if v})

    def call_failed(self, exc: BaseException, kind: str, sql: str | None, wanted: str) -> TaskError:
        return api_error(self.task_id, f"BigQuery {kind} job", wanted, exc, jobId=wanted, sql=sql)
