"""What a running task sees: `TaskContext` (the RunContext), its logger, storage view and template runtime."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.engine.events import LogLine
from flowrun.model.execution import TERMINAL, Attempt, State, TaskRun, utcnow
from flowrun.tasks.base import LevelMethods
from flowrun.templating import TemplateError
from flowrun.templating.errors import EvalError

if TYPE_CHECKING:
    from flowrun.storage.kv import KVStore
    from flowrun.tasks.base import TaskServices
    from flowrun.tasks.runner import Runner, Scope


class TaskLogger(LevelMethods):
    """A task attempt's logger: every line goes through the executor, masked and attributed to the task run."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def log(self, level: str, message: str) -> None:
        self.ctx.executor.emit_log(self.ctx.taskrun, self.ctx.attempt, level.upper(), message)


class TaskStorage:
    """Internal storage as seen by one task run: writes go under its prefix, reads stay in the execution."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        ex = ctx.executor
        from flowrun.storage.internal import task_prefix

        self.internal = ex.services.storage
        self.prefix = task_prefix(ex.flow.namespace, ex.flow.id, ex.execution.id, ctx.task_id, ctx.taskrun_id)
        self.execution_prefix = ex.storage_prefix
        self.reserved: list[str] = []

    def put_file(self, local_path: Path, name: str | None = None) -> str:
        return self.internal.put_file(local_path, self.prefix, name or local_path.name)

    def new_file(self, name: str) -> tuple[Path, str]:
        path, uri = self.internal.new_file(self.prefix, name)
        self.reserved.append(uri)
        return path, uri

    def local_path(self, uri: str) -> Path:
        return self.internal.local_path(uri, allowed_prefix=None)

    def commit(self) -> None:
        """Store the files written through `new_file` (an upload on a remote storage, else nothing to do)."""
        reserved, self.reserved = self.reserved, []
        self.internal.commit(reserved)


class TaskContext:
    """The RunContext handed to `Task.run` for one attempt."""

    def __init__(self, executor: Runner, taskrun: TaskRun, task: Any, scope: Scope, attempt: int) -> None:
        self.executor = executor
        self.taskrun = taskrun
        self.task = task
        self.scope = scope
        self.attempt = attempt
        self.execution_id = executor.execution.id
        self.namespace = executor.flow.namespace
        self.flow_id = executor.flow.id
        self.task_id = taskrun.task_id
        self.taskrun_id = taskrun.id
        self.cancel = threading.Event()
        self.timed_out = False
        #: `time.monotonic()` when the task's timeout fires (None: no timeout)
        self.deadline: float | None = None
        self.state_dir = executor.services.project.home
        self.logger = TaskLogger(self)
        self._storage: TaskStorage | None = None
        self._workdir: Path | None = None
        self.namespace_files = executor.services.namespace_files
        self.variables = executor.task_variables(task, taskrun, scope)
        #: the attempt ends WARNING instead of SUCCESS (see `mark_warning`)
        self.warned = False
        self._children: dict[str, TaskRun] = {}

    @property
    def taskrun_value(self) -> str | None:
        """Kestra's task-run value: this run's own loop value, else the innermost loop value around it."""
        run = self.taskrun
        if run.value is not None:
            return str(run.value)
        return run.value_path[-1] if run.value_path else None

    @property
    def storage(self) -> TaskStorage:
        if self._storage is None:
            self._storage = TaskStorage(self)
        return self._storage

    def _vars(self, extra: dict[str, Any]) -> dict[str, Any]:
        if not extra:
            return self.variables
        merged = dict(self.variables)
        merged.update(extra)
        return merged

    def render(self, value: Any, **extra_vars: Any) -> Any:
        return self.executor.render(value, self._vars(extra_vars))

    def render_typed(self, value: Any, **extra_vars: Any) -> Any:
        return self.executor.render(value, self._vars(extra_vars), typed=True)

    def render_with(self, value: Any, variables: dict[str, Any]) -> Any:
        return self.executor.render(value, self._vars(variables))

    def working_dir(self) -> Path:
        if self.scope.shared_dir is not None:
            return self.scope.shared_dir
        if self._workdir is None:
            base = self.executor.services.project.home / "tmp"
            base.mkdir(parents=True, exist_ok=True)
            self._workdir = private_dir(base, f"{self.task_id}-")
        return self._workdir

    def commit_files(self) -> None:
        """After the task ran: store the files it wrote into internal storage (raises StorageError)."""
        if self._storage is not None:
            self._storage.commit()

    def cleanup(self) -> None:
        if self._workdir is not None:
            import shutil

            shutil.rmtree(self._workdir, ignore_errors=True)

    def kv(self) -> KVStore:
        return self.executor.services.kv

    def services(self) -> TaskServices:
        return self.executor.services

    def metric(self, name: str, type: str, value: float, tags: dict[str, str] | None = None) -> None:
        self.executor.emit_metric(self.taskrun, name, type, value, tags or {})

    def add_labels(self, labels: dict[str, str]) -> None:
        self.executor.add_labels(labels)

    def set_variables(self, values: dict[str, Any], overwrite: bool) -> None:
        from flowrun.engine.variables import set_variables

        set_variables(self.executor, values, overwrite)

    def unset_variables(self, names: list[str], ignore_missing: bool) -> None:
        from flowrun.engine.variables import unset_variables

        unset_variables(self.executor, names, ignore_missing)

    def process_started(self, pgid: int) -> None:
        self.executor.emit_process_started(self.taskrun, self.attempt, pgid)

    def process_ended(self, pgid: int) -> None:
        self.executor.emit_process_ended(self.taskrun, self.attempt, pgid)

    def register_secret(self, value: Any) -> None:
        self.executor.services.masker.add_value(value)

    def mark_warning(self) -> None:
        self.warned = True

    def report_child(self, name: str, state: str, start: datetime | None = None, end: datetime | None = None,
                     outputs: dict[str, Any] | None = None, error: str | None = None) -> None:
        child = self._children.get(name)
        if child is None:
            child = self._children[name] = self.executor.child_taskrun(self.taskrun, name)
        child.state = State(state)
        child.start_date = start or child.start_date
        child.end_date = end if child.state in TERMINAL else None
        if outputs is not None:
            child.outputs = outputs
        if error is not None:
            child.error = self.executor.services.masker.mask(error)
        moment = child.start_date
        if not child.attempts:
            child.attempts.append(Attempt(child.state, moment))
        child.attempts[0].state, child.attempts[0].start_date = child.state, moment
        child.attempts[0].end_date = child.end_date
        self.executor.update_child(child)

    def child_log(self, name: str, level: str, message: str) -> None:
        child = self._children.get(name)
        self.executor.emit_log(child or self.taskrun, 1 if child else self.attempt, level.upper(), message)

    def is_secret(self, value: Any) -> bool:
        masker = self.executor.services.masker
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return bool(len(masker)) and masker.mask(text) != text


class TemplateRuntime:
    """The outside world for template functions: kv(), secret(), read(), fileSize()...

    `storage_prefix` limits `read()` of kestra:// files to one execution's files (None: no limit, for
    expressions rendered outside an execution)."""

    def __init__(self, services: TaskServices, namespace: str, storage_prefix: str | tuple[str, ...] | None) -> None:
        self.services = services
        self.namespace = namespace
        self.storage_prefix = storage_prefix

    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        from flowrun.storage.kv import KVError

        try:
            entry = self.services.kv.entry(namespace or self.namespace, key, error_on_missing=error_on_missing)
        except KVError as exc:
            raise EvalError(str(exc)) from None
        if entry is None:
            return None
        if entry.secret:
            self.services.masker.add_value(entry.value)
        return entry.value

    def secret(self, key: str) -> str:
        from flowrun.secrets import SecretError

        try:
            value = self.services.secrets.get(key)
        except SecretError as exc:
            raise EvalError(str(exc)) from None
        self.services.masker.add(value)
        return value

    def _local(self, path: str) -> Path:
        try:
            if path.startswith("kestra://"):
                return self.services.storage.local_path(path, allowed_prefix=self.storage_prefix)
            return self.services.namespace_files.path(self.namespace, path)
        except Exception as exc:  # storage errors carry a clear message
            raise EvalError(str(exc)) from None

    def read(self, path: str) -> str:
        local = self._local(path)
        try:
            return local.read_text(encoding="utf-8")
        except OSError as exc:
            raise EvalError(f"cannot read `{path}`: {exc.strerror}") from None

    def file_size(self, uri: str) -> int:
        try:
            return self._local(uri).stat().st_size
        except OSError as exc:
            raise EvalError(f"cannot get the size of `{uri}`: {exc.strerror}") from None

    def file_exists(self, path: str) -> bool:
        try:
            return self._local(path).exists()
        except TemplateError:
            return False

    def is_file_empty(self, path: str) -> bool:
        return self.file_size(path) == 0


def make_log_line(execution_id: str, taskrun: TaskRun | None, attempt: int | None, level: str,
                  message: str) -> LogLine:
    return LogLine(execution_id, taskrun.id if taskrun else None, taskrun.task_id if taskrun else None,
                   attempt, level, utcnow(), message)


def readable_prefixes(execution: Any, own: str) -> tuple[str, ...]:
    """The storage prefixes `read()` may open: this execution's, and its parent's for a subflow (as in Kestra,
    a subflow reads the files its parent passes it, e.g. ForEachItem's `taskrun.items`)."""
    from flowrun.storage.internal import execution_prefix

    trigger = execution.trigger or {}
    if execution.parent_id and trigger.get("namespace") and trigger.get("flowId"):
        parent = execution_prefix(trigger["namespace"], trigger["flowId"], trigger.get("executionId") or execution.parent_id)
        return (own, parent)
    return (own,)


def private_dir(base: Path, prefix: str) -> Path:
    """A new directory under `base` that only this user can read, with an unguessable name (what
    `tempfile.mkdtemp` makes, without importing tempfile, shutil and random: ~3 ms of a cached run)."""
    while True:
        path = base / f"{prefix}{os.urandom(6).hex()}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return path
