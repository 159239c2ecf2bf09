"""`StateStore`: every read and write of flowrun's own state, the contract each backend implements.

SQLite (`flowrun.state.db.Database`) is the embedded default; a second backend (Postgres) implements the
same methods over the same schema (`flowrun.state.migrations`). Callers outside `flowrun/state/` hold a
`StateStore` and never see SQL, a connection or a driver row: rows come back as plain dicts
(`flowrun.state.records.Row`) with the column names of the schema.

Each method is one transaction. Methods that decide from what they read (claims, concurrency slots,
revision numbers, KV `overwrite: false`) must make that decision atomically across processes and
machines: SQLite takes its write lock first (BEGIN IMMEDIATE); Postgres uses row locks or
`INSERT ... ON CONFLICT`. The callbacks some methods take run inside that transaction and must not touch
the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flowrun.model.execution import Execution, TaskRun

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from flowrun.state.batch import Batch
    from flowrun.state.records import (
        Claim,
        DateStatus,
        Deleted,
        Due,
        ExecutionFilter,
        ExecutionQuery,
        FlowCount,
        Key,
        LogFilter,
        Revision,
        Row,
        Selection,
        StateScope,
        StoredState,
    )
    from flowrun.state.remote_waits import AttemptSignal


@runtime_checkable
class StateStore(Protocol):
    @property
    def location(self) -> str:
        """Where this state lives, for messages (a file path; a URL without its password)."""

    @property
    def shared(self) -> bool:
        """Whether processes on other machines may use this state (Postgres): their liveness is known only by
        heartbeat, and they hold their own copy of the secret key."""

    # -- executions, task runs, logs, metrics (flowrun.state.executions) ---------------------------------
    def save_execution(self, execution: Execution, inputs: Any, outputs: Any, variables: Any = None) -> None:
        """Insert or update an execution row (`inputs`/`outputs`/`variables` already sealed), owned by this
        process; `variables` None: the flow's are unchanged."""

    def insert_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        """Write a task run's whole row, replacing one with the same id (a restart reuses ids)."""

    def update_task_run(self, taskrun: TaskRun, outputs: Any) -> None:
        """Update the state, end date, outputs, attempts and error of a task run this process inserted."""

    def add_log(self, execution_id: str, task_run_id: str | None, task_id: str | None, attempt: int | None,
                level: str, timestamp: str | None, message: str) -> None:
        """Append one log line."""

    def add_metric(self, execution_id: str, task_run_id: str, name: str, kind: str, value: float,
                   tags: dict[str, Any]) -> None:
        """Append one metric of a task run, stamped now."""

    def record(self, batch: Batch) -> None:
        """Write a batch of the recorder in one transaction: the execution row (as `save_execution`), each task
        run (`insert_task_run` for a `TaskRunWrite.insert`, else `update_task_run`), then the log lines and
        metrics in their order."""

    def beat(self, execution_id: str) -> None:
        """Refresh an execution's heartbeat (the time its process last showed it was alive)."""

    def active_executions(self) -> list[Row]:
        """`id, pid, host, heartbeat` of every execution in an active state (CREATED, QUEUED, RUNNING...)."""

    def mark_killed(self, execution_ids: list[str], stamp: str, error: str, message: str) -> None:
        """Mark these executions (those still active) and their active task runs KILLED at `stamp`, with an ERROR
        log line on each execution it marked (a second reaper racing the first marks and logs nothing)."""

    def abandon_execution(self, execution_id: str, error: str, stamp: str) -> bool:
        """Best effort, on a store that failed a write: mark the execution (then, separately, its active task
        runs) FAILED with `error`. True when the execution is no longer active; never raises."""

    def list_executions(self, namespace: str | None, flow_id: str | None, state: str | None,
                        limit: int, *, within: str | None = None, since: str | None = None,
                        until: str | None = None, labels: dict[str, str] | None = None) -> list[Row]:
        """Execution rows, newest first, filtered by whichever of namespace, flow id and state is given;
        `within` a namespace or any below it, created at or after `since` and before `until` (ISO-8601 UTC
        strings as `iso` writes them), carrying every one of `labels`."""

    def page_executions(self, query: ExecutionQuery, offset: int, limit: int) -> tuple[list[Row], int]:
        """One page of the executions `query` matches, newest first, and how many match in all. Rows carry
        `id, namespace, flow_id, state, start_date, end_date, labels, trigger, created_at` (labels and trigger
        as stored JSON text)."""

    def find_execution(self, id_or_prefix: str) -> Row | None:
        """The execution row with this id, else the only one whose id starts with it, else None."""

    def task_run_rows(self, execution_id: str) -> list[Row]:
        """An execution's task run rows in the order they were created (`seq`)."""

    def log_rows(self, execution_id: str, task_id: str | None = None) -> list[Row]:
        """An execution's log rows (of one task when given) in the order they were written."""

    def log_rows_after(self, execution_id: str, after_id: int, limit: int) -> list[Row]:
        """An execution's log rows whose `id` is greater than `after_id`, in the order written, at most `limit`
        (following a running execution's logs)."""

    def execution_exists(self, namespace: str, flow_id: str, execution_id: str) -> bool:
        """Whether this execution id is one of this flow's."""

    def find_logs(self, namespace: str, flow_id: str, execution_id: str, min_level: str,
                  task_ids: list[str] | None = None) -> list[Row]:
        """An execution's log lines at or above `min_level` (a level outside TRACE..ERROR counts as the
        lowest), in the order written; with `task_ids`, those of each task in turn (as Kestra's log.Fetch).
        Columns: namespace, flow_id, task_id, execution_id, task_run_id, attempt, timestamp, level, message."""

    def ended_since(self, namespace: str | None, flow_id: str | None, states: list[str], since: str) -> bool:
        """Whether an execution of this flow ended in one of `states` at or after `since`."""

    # -- flow concurrency limits (flowrun.state.concurrency) ---------------------------------------------
    def admit_execution(self, execution: Execution, limit: int, behavior: str) -> str:
        """Record the execution RUNNING when fewer than `limit` of its flow are busy, else as `behavior` says:
        QUEUED (QUEUE), CANCELLED (CANCEL) or FAILED (FAIL). Returns the state recorded."""

    def start_if_next(self, execution: Execution, limit: int) -> bool:
        """Move this QUEUED execution to RUNNING if it is its flow's oldest queued one and a slot is free."""

    # -- task process groups (flowrun.state.processes) ---------------------------------------------------
    def record_process(self, execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
                       pgid: int) -> None:
        """Note that this process runs task process group `pgid` for an attempt, with both start identities."""

    def forget_process(self, pgid: int) -> None:
        """The group `pgid` this process ran has ended."""

    def process_rows(self, execution_id: str | None = None) -> list[Row]:
        """The task process groups recorded on this host (of one execution when given), oldest first."""

    def delete_processes(self, ids: list[int]) -> None:
        """Forget these recorded groups (by row id)."""

    # -- flow revisions (flowrun.state.revisions) --------------------------------------------------------
    def record_revision(self, namespace: str, flow_id: str, source: str) -> int:
        """The revision number of this source of the flow; a new source becomes the next revision."""

    def find_revision(self, namespace: str, flow_id: str, source: str) -> int | None:
        """The revision number whose source is exactly `source`, without recording anything."""

    def number_old_executions(self, namespace: str, flow_id: str) -> None:
        """Give a revision to the flow's executions recorded with a source but no revision, oldest first."""

    def get_revision(self, namespace: str, flow_id: str, number: int) -> Revision | None:
        """One stored revision."""

    def list_revisions(self, namespace: str, flow_id: str) -> list[Revision]:
        """Every revision of the flow, oldest first (older executions numbered first)."""

    def executions_by_revision(self, namespace: str, flow_id: str) -> dict[int, list[str]]:
        """The ids of the executions that ran each revision, oldest first."""

    def execution_revision(self, execution_id: str) -> int | None:
        """An execution's revision number, numbering its flow's older executions first when needed."""

    # -- schedule trigger state (flowrun.state.triggers) -------------------------------------------------
    def trigger_state(self, key: Key) -> Row | None:
        """`last_tick, disabled, disabled_reason, updated_at` of a trigger, None when never ticked."""

    def set_last_tick(self, key: Key, last_tick: str) -> None:
        """Record how far the trigger has been evaluated."""

    def disable_trigger(self, key: Key, reason: str) -> None:
        """Disable a trigger (stopAfter), with the reason shown by `schedule list`."""

    def enable_trigger(self, key: Key) -> None:
        """Enable a trigger disabled by `disable_trigger`."""

    # -- schedule claims (flowrun.state.claims) ----------------------------------------------------------
    def enqueue_due(self, key: Key, flow_path: str,
                    plan: Callable[[str | None], tuple[list[str], str | None]]) -> int:
        """One transaction: unless the trigger is disabled, call `plan(last_tick)` -> (dates due, new last
        tick or None to keep it), move the last tick on, and add a pending claim for each new date.
        Returns how many claims were added (dates claimed before are left alone)."""

    def take_next_claim(self) -> Claim | None:
        """Claim the earliest pending tick date, or take over a dead one. None when nothing is left."""

    def take_date_claim(self, key: Key, date: str, expected: str | None, source: str, flow_path: str,
                        backfill_id: str | None = None) -> Claim | None:
        """Claim one date for a run, if its latest execution is still `expected` (None: no execution yet)."""

    def link_claim(self, claim: Claim, execution_id: str) -> None:
        """Record the execution that runs a claim (before it starts, so others see the date as taken)."""

    def finish_claim(self, claim: Claim) -> None:
        """The claim's execution ran."""

    def release_claim(self, claim: Claim, requeue: bool = False) -> None:
        """Give a claim back as if it had not run: pending again (requeue), or the previous execution is the
        date's latest again."""

    def skip_claim(self, claim: Claim) -> None:
        """The claim will not run (its trigger is gone or disabled)."""

    def record_manual_claim(self, key: Key, date: str, execution_id: str, flow_path: str) -> None:
        """A manual `run --trigger --date` becomes the latest execution of that date (it always runs)."""

    def date_statuses(self, key: Key) -> dict[str, DateStatus]:
        """Every known date of a trigger with its latest execution."""

    def last_run(self, key: Key) -> Row | None:
        """`date, execution_id, state` of the latest date that ran for a trigger."""

    # -- backfills (flowrun.state.backfills) -------------------------------------------------------------
    def start_backfill(self, namespace: str, flow_id: str, triggers: list[str], start: str, end: str,
                       options: dict[str, Any]) -> tuple[str, bool]:
        """(id, resumed): continue the latest interrupted (or dead) backfill with the same parameters, owned
        by this process from now on, or record a new RUNNING one."""

    def beat_backfill(self, backfill_id: str) -> None:
        """Refresh a running backfill's heartbeat: on a shared state, another host takes a backfill whose
        heartbeat is stale for dead and resumes it."""

    def finish_backfill(self, backfill_id: str, state: str, total: int, succeeded: int, failed: int,
                        skipped: int) -> None:
        """Record a backfill's end state and counts."""

    def backfill_rows(self, limit: int) -> list[Row]:
        """Backfill rows, newest first, with `triggers` and `options` decoded."""

    # -- KV (flowrun.state.kv; typing, validation and encryption live in flowrun.storage.kv) ---------------
    def kv_put(self, namespace: str, key: str, kind: str, value: str, secret: bool, expires_at: str | None,
               now: str, overwrite: bool = True) -> bool:
        """Store a value (an entry expired at `now` counts as absent). False, storing nothing, when
        `overwrite` is False and the key exists."""

    def kv_row(self, namespace: str, key: str) -> Row | None:
        """`key, type, value, secret, expires_at, updated_at` of a key, expired or not."""

    def kv_rows(self, namespace: str, now: str) -> list[Row]:
        """The namespace's entries not expired at `now`, sorted by key (columns as `kv_row`)."""

    def kv_delete(self, namespace: str, key: str, now: str) -> bool:
        """Delete a key; True when it existed and had not expired at `now`."""

    def kv_delete_expired(self, namespace: str, key: str, expires_at: str) -> None:
        """Delete a key if it still has this expiry (it was read as expired)."""

    def kv_purge_expired(self, now: str, namespace: str | None = None) -> int:
        """Delete the entries expired at `now` (of one namespace, or all); return how many."""

    def kv_purge(self, namespace: str, now: str, expired_only: bool,
                 key_matches: Callable[[str], bool] | None) -> int:
        """Delete the namespace's keys (only those expired at `now` when `expired_only`) that `key_matches`."""

    def kv_namespaces(self) -> list[str]:
        """Every namespace that holds a key (expired ones included), sorted."""

    # -- documents of the state.Get/Set/Delete tasks (flowrun.state.task_state) ----------------------------
    def read_task_state(self, scope: StateScope) -> StoredState | None:
        """One document, None when there is none."""

    def update_task_state(self, scope: StateScope,
                          change: Callable[[StoredState | None], StoredState]) -> StoredState:
        """Replace the document by `change(current)` in one transaction: concurrent updates of one document
        queue, none is lost. Returns the new document."""

    def delete_task_state(self, scope: StateScope) -> bool:
        """Delete one document; False if there was none."""

    # -- the secret key's ledger (flowrun.state.keys) -----------------------------------------------------
    def recorded_fingerprint(self) -> str | None:
        """The fingerprint of the key that encrypted this state's values, None before the first one."""

    def record_fingerprint(self, fingerprint: str) -> None:
        """Record the key's fingerprint."""

    def record_first_fingerprint(self, fingerprint: str) -> str:
        """Record the key's fingerprint unless one is recorded already; the one recorded now (a shared state:
        of two machines starting with different keys, exactly one wins)."""

    def encrypted_values(self) -> int:
        """How many stored values hold at least one encrypted token (a full scan)."""

    def encrypted_tokens(self) -> list[str]:
        """Every encrypted token stored anywhere (a full scan, for `flowrun state check`)."""

    def reencrypt(self, transform: Callable[[str], str], new_fingerprint: str) -> int:
        """One transaction: replace every encrypted token by `transform(token)` and record the new key's
        fingerprint; returns how many values changed."""

    def active_execution_ids(self) -> list[str]:
        """The ids of the executions in an active state, oldest first."""

    # -- purge (flowrun.state.purge) ---------------------------------------------------------------------
    def select_executions(self, spec: ExecutionFilter) -> Selection:
        """The executions `spec` matches, oldest first, split into purgeable (finished) and unfinished."""

    def delete_executions(self, ids: Iterable[str], *, rows: bool = True, logs: bool = True,
                          metrics: bool = True, batch_size: int = 100) -> Deleted:
        """Delete what belongs to these executions, one transaction per batch; an execution no longer
        finished when its batch runs (a restart began meanwhile) is left alone."""

    def delete_logs(self, spec: LogFilter) -> int:
        """Delete the matching log lines of finished executions; returns how many went."""

    # -- pauses (flowrun.state.pauses) -------------------------------------------------------------------
    def record_pause_delay(self, execution_id: str, task_run_id: str, resume_at: datetime, state: str,
                           inputs: Any = None) -> None:
        """The PAUSED task run resumes to `state` at `resume_at` (with sealed `onResume` inputs), unless resumed
        earlier; replaces the task run's earlier date."""

    def drop_pause_delay(self, task_run_id: str) -> bool:
        """Forget a pause's resume date (it was resumed); False when it was already gone."""

    def take_due_pauses(self, now: datetime, busy: Callable[[Row], bool]) -> dict[str, dict[str, Due]]:
        """One transaction: take (delete) the resume dates that have passed, of PAUSED executions for which
        `busy(row)` (their pid, host and heartbeat) is false; execution id -> {task run id: Due}."""

    def paused_task_runs(self, execution_id: str) -> list[Row]:
        """The execution's PAUSED task runs (`id`, `task_id`, `task_type`), in order."""

    def latest_paused_execution(self, namespace: str, flow_id: str) -> str | None:
        """The id of the flow's most recent PAUSED execution."""

    def execution_owner(self, execution_id: str) -> Row | None:
        """The `pid`, `host` and `heartbeat` of the process that last wrote the execution."""

    # -- counts (flowrun.state.counts) -------------------------------------------------------------------
    def execution_counts(self, flows: list[tuple[str, str]] | None, namespaces: list[str] | None,
                         states: list[str] | None, start: datetime | None, end: datetime | None) -> list[FlowCount]:
        """Executions per flow: each of `flows` (0 when it has none) and each flow with executions in (or below)
        `namespaces`; only those in `states`, started within [start, end]."""

    # -- remote attempts and executions of the Celery executor (flowrun.state.dispatch) ----------------
    def claim_attempt(self, execution_id: str, task_run_id: str, attempt: int, worker: str) -> bool:
        """Take this attempt for `worker` (INSERT ... ON CONFLICT DO NOTHING); False when it was taken before."""

    def beat_attempt(self, task_run_id: str, attempt: int, worker: str) -> str | None:
        """Refresh the heartbeat of an attempt `worker` runs; returns its status (`running`, `lost`...)."""

    def finish_attempt(self, task_run_id: str, attempt: int, worker: str, result: str) -> bool:
        """Record the attempt's result (sealed JSON), only while `worker` still holds it `running`."""

    def task_run_versions(self, execution_id: str) -> dict[str, str] | None:
        """Each task run's id and its row's version, in `seq` order (Postgres: `xmin`, new with every write of
        the row); None where the store has none (SQLite: read `task_run_rows`)."""

    def task_run_rows_by_id(self, execution_id: str, ids: list[str]) -> list[Row]:
        """The rows of these task runs of the execution (any order; ids it does not hold are left out)."""

    def session(self) -> AbstractContextManager[None]:
        """This thread's statements on one connection until the block ends (Postgres: one pool borrow and check
        for them all); for a few statements in a row, not around long work."""

    def attempt_waiting(self, task_run_id: str, attempt: int) -> AbstractContextManager[AttemptSignal | None]:
        """While open: a signal notified when the attempt's result is recorded (Postgres), or None where nothing
        notifies (SQLite: the waiter polls the row). Enter it before the attempt is sent."""

    def settle_attempt(self, execution_id: str, task_run_id: str, attempt: int, status: str,
                       stale_before: float | None = None) -> bool:
        """Move a `running` (or not yet claimed) attempt to `status` (`lost`, `cancelled`); with `stale_before`,
        only if its heartbeat is older. True when this call changed it."""

    def attempt_claim(self, task_run_id: str, attempt: int) -> Row | None:
        """`status, worker, heartbeat, result, claimed_at` of a remote attempt, None before a worker took it."""

    def hand_over_execution(self, execution_id: str) -> None:
        """The execution waits in the broker: no process owns it (the reaper leaves it alone)."""

    def take_execution(self, execution_id: str) -> bool:
        """A worker takes a handed-over CREATED execution; False when another one (or nobody) may run it."""

    def withdraw_execution(self, execution_id: str, stamp: str, error: str) -> bool:
        """Mark KILLED at `stamp` a handed-over execution no worker has taken yet (its enqueuer was stopped);
        False when a worker has it."""

    def close(self) -> None:
        """Release this thread's connection."""
