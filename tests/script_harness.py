"""A real RunContext for unit-testing tasks without the engine: real dirs, storage, templating and processes."""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.errors import TaskError, TaskKilled
from flowrun.storage.internal import InternalStorage, execution_prefix, task_prefix
from flowrun.storage.namespace_files import NamespaceFiles
from flowrun.tasks.base import LevelMethods
from flowrun.templating import TemplateError, render_value


class HarnessLogger(LevelMethods):
    """Collects (level, message) pairs; thread-safe."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def log(self, level: str, message: str) -> None:
        with self._lock:
            self.lines.append((level.upper(), message))

    def messages(self, level: str | None = None) -> list[str]:
        return [m for lv, m in self.lines if level is None or lv == level]


class HarnessStorage:
    """The engine's storage layout, scoped to one task run."""

    def __init__(self, internal: InternalStorage, prefix: str, readable: str) -> None:
        self.internal, self.prefix, self.readable = internal, prefix, readable

    def put_file(self, local_path: Path, name: str | None = None) -> str:
        return self.internal.put_file(local_path, self.prefix, name or Path(local_path).name)

    def new_file(self, name: str) -> tuple[Path, str]:
        return self.internal.new_file(self.prefix, name)

    def local_path(self, uri: str) -> Path:
        return self.internal.local_path(uri, [self.readable])


@dataclass
class HarnessContext:
    """Implements flowrun.tasks.base.RunContext over a project dir `home` (state, storage, namespace files)."""

    home: Path
    namespace: str = "company.team"
    flow_id: str = "test-flow"
    task_id: str = "task"
    execution_id: str = "exec1"
    taskrun_id: str = "tr1"
    variables: dict[str, Any] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    metrics: list[tuple[str, str, float, dict]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    process_groups: list[int] = field(default_factory=list)
    ended_groups: list[int] = field(default_factory=list)
    #: where cached venvs and shims live (share one across tests to build each venv once)
    state_dir: Path | None = None
    #: child task runs the task reported (dbt nodes), by name, and their log lines
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    child_logs: list[tuple[str, str, str]] = field(default_factory=list)
    warned: bool = False

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        self.logger = HarnessLogger()
        self.state_dir = Path(self.state_dir) if self.state_dir else self.home / ".flowrun"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.internal = InternalStorage(self.home / ".flowrun" / "storage")
        self.storage = HarnessStorage(
            self.internal,
            task_prefix(self.namespace, self.flow_id, self.execution_id, self.task_id, self.taskrun_id),
            execution_prefix(self.namespace, self.flow_id, self.execution_id),
        )
        self.namespace_files = NamespaceFiles(self.home / "namespace_files")
        self._wd: Path | None = None

    def render(self, value: Any, **extra: Any) -> Any:
        try:
            return render_value(value, {**self.variables, **extra})
        except TemplateError as exc:
            raise TaskError(f"template error: {exc.message}") from None

    def render_typed(self, value: Any, **extra: Any) -> Any:
        return render_value(value, {**self.variables, **extra}, typed=True)

    def working_dir(self) -> Path:
        if self._wd is None:
            base = self.home / "tmp"
            base.mkdir(parents=True, exist_ok=True)
            self._wd = Path(tempfile.mkdtemp(prefix=f"{self.task_id}-", dir=base))
        return self._wd

    def cleanup(self) -> None:
        if self._wd is not None:
            shutil.rmtree(self._wd, ignore_errors=True)
            self._wd = None

    def kv(self) -> Any:  # pragma: no cover - script tasks do not use the KV store
        raise NotImplementedError

    def metric(self, name: str, type: str, value: float, tags: dict[str, str] | None = None) -> None:
        self.metrics.append((name, type, value, tags or {}))

    def register_secret(self, value: str) -> None:
        self.secrets.append(value)

    def mark_warning(self) -> None:
        self.warned = True

    def report_child(self, name: str, state: str, start: Any = None, end: Any = None,
                     outputs: dict[str, Any] | None = None, error: str | None = None) -> None:
        self.children[name] = {"state": state, "start": start, "end": end, "outputs": outputs, "error": error}

    def child_log(self, name: str, level: str, message: str) -> None:
        self.child_logs.append((name, level.upper(), message))

    def process_started(self, pgid: int) -> None:
        self.process_groups.append(pgid)

    def process_ended(self, pgid: int) -> None:
        self.ended_groups.append(pgid)

    def put_execution_file(self, name: str, content: bytes, task_id: str = "upstream") -> str:
        """A file as an upstream task of the same execution would have stored it."""
        prefix = task_prefix(self.namespace, self.flow_id, self.execution_id, task_id, "trup")
        target, uri = self.internal.new_file(prefix, name)
        target.write_bytes(content)
        return uri


@dataclass
class Attempt:
    """The result of running a task once through the harness."""

    outputs: dict[str, Any] | None
    error: TaskError | TaskKilled | None
    ctx: HarnessContext


def run_task(task_def: dict[str, Any], home: Path, ctx: HarnessContext | None = None, **ctx_args: Any) -> Attempt:
    """Validate `task_def` through the registry and run one attempt (working dir removed afterwards)."""
    from flowrun.tasks.registry import task_class

    task = task_class(task_def["type"]).model_validate(task_def)
    ctx = ctx or HarnessContext(home=home, task_id=task_def["id"], **ctx_args)
    try:
        return Attempt(task.run(ctx), None, ctx)
    except (TaskError, TaskKilled) as exc:
        return Attempt(getattr(exc, "outputs", None), exc, ctx)
    finally:
        ctx.cleanup()
