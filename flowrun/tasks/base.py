"""The contract between the executor and every task type: `Task` models and the `RunContext` they run with."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flowrun.model.base import RetrySpec, Strict

if TYPE_CHECKING:
    from flowrun.crypto import Cipher
    from flowrun.project import Project
    from flowrun.secrets import Masker, Secrets
    from flowrun.state.protocol import StateStore
    from flowrun.storage.internal import InternalStorage
    from flowrun.storage.kv import KVStore
    from flowrun.storage.namespace_files import NamespaceFiles


class Task(Strict):
    """Properties common to every task (Kestra's `Task`).

    Subclasses declare their own properties as fields and implement `run`. Property values are raw YAML:
    a task renders what it needs through `ctx.render(...)` at run time.
    """

    #: Flowable tasks hold child tasks and are driven by the executor, not by `run`.
    flowable: ClassVar[bool] = False
    #: with the Celery executor, an attempt may run on any worker; False keeps it in the orchestrating process
    #: (a task that changes the execution itself, e.g. its labels)
    remote: ClassVar[bool] = True
    #: the task acts on nothing outside its execution (it renders, logs, returns outputs): running it again after
    #: a crash changes nothing else, so its end need not be committed before the next task starts
    pure: ClassVar[bool] = False

    id: str
    type: str
    description: str | None = None
    disabled: bool = False
    run_if: Any = None
    allow_failure: bool = False
    allow_warning: bool = False
    timeout: str | None = None
    retry: RetrySpec | None = None
    log_level: str | None = None
    log_to_file: bool = False
    worker_group: dict[str, Any] | None = None
    #: names of fields holding child tasks (flowables), walked by the validator and the executor
    child_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def prepare_children(cls, raw: dict[str, Any], build: Callable[[Any, tuple], Any]) -> dict[str, Any]:
        """Replace raw child task maps by built tasks. `build(item, sub_path)` returns a Task or None."""
        if not cls.child_fields:
            return raw
        out = dict(raw)
        for name in cls.child_fields:
            info = cls.model_fields[name]
            key = info.alias or name
            value = raw.get(key)
            if isinstance(value, list):
                out[key] = [build(item, (key, i)) for i, item in enumerate(value)]
            elif isinstance(value, dict):
                out[key] = {k: [build(item, (key, k, i)) for i, item in enumerate(v)] if isinstance(v, list) else v
                            for k, v in value.items()}
        return out

    def run(self, ctx: RunContext) -> dict[str, Any] | None:  # pragma: no cover - overridden
        """Run one attempt and return the outputs. Raise `TaskError` to fail with evidence."""
        raise TypeError(f"task type {self.type} cannot be run directly")


class LevelMethods:
    """`trace` … `error` shortcuts over a `log(level, message)` method; loggers inherit them."""

    def log(self, level: str, message: str) -> None:  # pragma: no cover - defined by subclasses
        raise TypeError(f"{type(self).__name__} defines no log method")

    def trace(self, message: str) -> None:
        self.log("TRACE", message)

    def debug(self, message: str) -> None:
        self.log("DEBUG", message)

    def info(self, message: str) -> None:
        self.log("INFO", message)

    def warn(self, message: str) -> None:
        self.log("WARN", message)

    warning = warn

    def error(self, message: str) -> None:
        self.log("ERROR", message)


class TaskLogger(Protocol):
    def trace(self, message: str) -> None: ...
    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def error(self, message: str) -> None: ...
    def log(self, level: str, message: str) -> None: ...


class Storage(Protocol):
    """Internal storage (`kestra://` URIs) as seen by one task run."""

    def put_file(self, local_path: Path, name: str | None = None) -> str:
        """Copy a local file into this task run's storage prefix and return its `kestra://` URI."""
        ...

    def new_file(self, name: str) -> tuple[Path, str]:
        """Reserve a file in this task run's prefix: write to the returned path, publish the returned URI."""
        ...

    def local_path(self, uri: str) -> Path:
        """The local file behind a `kestra://` URI of this execution (read-only use). Raises if absent."""
        ...


class TaskServices(Protocol):
    """The project's services as tasks and templates see them. `flowrun.engine.services.Services` implements it."""

    @property
    def project(self) -> Project: ...

    @property
    def db(self) -> StateStore: ...

    @property
    def storage(self) -> InternalStorage: ...

    @property
    def namespace_files(self) -> NamespaceFiles: ...

    @property
    def kv(self) -> KVStore: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def masker(self) -> Masker: ...

    @property
    def cipher(self) -> Cipher: ...


class RunContext(Protocol):
    """What a running task may use. Implemented by the executor."""

    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    taskrun_id: str
    cancel: threading.Event
    state_dir: Path

    @property
    def taskrun_value(self) -> str | None:
        """The `taskrun.value` of this run (inside a loop: the innermost loop value), None outside loops."""
        ...

    @property
    def logger(self) -> TaskLogger: ...

    @property
    def storage(self) -> Storage: ...

    def render(self, value: Any, **extra_vars: Any) -> Any:
        """Render a raw property (str, list or dict, recursively) in string mode."""
        ...

    def render_typed(self, value: Any, **extra_vars: Any) -> Any:
        """Render keeping native types when a string is a single expression (`{{ [1,2] }}` -> list)."""
        ...

    def render_with(self, value: Any, variables: dict[str, Any]) -> Any:
        """`render` with `variables` added to the task's own (any names, e.g. the fields of a file's item)."""
        ...

    def working_dir(self) -> Path:
        """This attempt's own working directory (created on first use, removed after the attempt)."""
        ...

    def kv(self) -> KVStore: ...

    def services(self) -> TaskServices:
        """The project's services (state DB, internal storage, KV): for system tasks, e.g. the purge tasks."""
        ...

    def metric(self, name: str, type: str, value: float, tags: dict[str, str] | None = None) -> None: ...

    def add_labels(self, labels: dict[str, str]) -> None:
        """Merge labels into the execution's labels (same key overwritten)."""
        ...

    def set_variables(self, values: dict[str, Any], overwrite: bool) -> None:
        """Deep-merge `values` into the execution's `vars` (refused for an existing name unless `overwrite`)."""
        ...

    def unset_variables(self, names: list[str], ignore_missing: bool) -> None:
        """Remove names (or dotted paths) from the execution's `vars`."""
        ...

    def register_secret(self, value: Any) -> None:
        """Mask this value (a string, or each string inside a JSON value) in every log line written from now on."""
        ...

    def is_secret(self, value: Any) -> bool:
        """Whether `value` (a string, or any JSON value) holds a value registered as secret."""
        ...

    def mark_warning(self) -> None:
        """End this attempt WARNING rather than SUCCESS when it returns (Kestra's `finalState`)."""
        ...

    def report_child(self, name: str, state: str, start: datetime | None = None, end: datetime | None = None,
                     outputs: dict[str, Any] | None = None, error: str | None = None) -> None:
        """Create or update a child task run `name` of this attempt (one per dbt node), shown and recorded."""
        ...

    def child_log(self, name: str, level: str, message: str) -> None:
        """A log line attributed to child `name` (to the task itself while no such child exists)."""
        ...

    def process_started(self, pgid: int) -> None:
        """The attempt started process group `pgid` (recorded, so that it can be stopped if flowrun dies)."""
        ...

    def process_ended(self, pgid: int) -> None:
        """Process group `pgid` of the attempt has ended."""
        ...
