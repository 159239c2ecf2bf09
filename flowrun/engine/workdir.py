"""The WorkingDirectory flowable's shared directory: input files in, namespace files in, output files out."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


def write_input_files(ex: Runner, raw: dict[str, Any] | str | None, variables: dict[str, Any],
                      directory: Path) -> None:
    """`inputFiles`: kestra:// URIs are copied in, any other value is written as inline content."""
    if raw is None:
        return
    files = ex.render(raw, variables)
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except json.JSONDecodeError:
            raise TaskError("inputFiles must be a map or a JSON object") from None
    for name, content in files.items():
        if content is None:
            continue
        target = (directory / name).resolve()
        if not target.is_relative_to(directory.resolve()):
            raise TaskError(f"inputFiles: `{name}` would be written outside the working directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("kestra://"):
            shutil.copyfile(ex.services.storage.local_path(content, allowed_prefix=None), target)
        else:
            target.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


def collect_output_files(ex: Runner, patterns: list[str], directory: Path, taskrun: TaskRun) -> dict[str, str]:
    """Upload files matching the globs (relative to `directory`, symlinks not followed) into the run's storage."""
    from flowrun.scripts.files import match_output_files
    from flowrun.storage.internal import task_prefix

    prefix = task_prefix(ex.flow.namespace, ex.flow.id, ex.execution.id, taskrun.task_id, taskrun.id)
    rels = match_output_files(directory, patterns, warn=lambda text: ex.emit_log(taskrun, None, "WARN", text))
    return {rel: ex.services.storage.put_file(directory / rel, prefix, Path(rel).name, hashed=True) for rel in rels}


@contextmanager
def shared_working_dir(ex: Runner, task: Any, taskrun: TaskRun, scope: Scope) -> Iterator[Scope]:
    base = ex.services.project.home / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"{task.id}-", dir=base))
    variables = ex.task_variables(task, taskrun, scope)
    try:
        write_input_files(ex, task.input_files, {**variables, "workingDir": str(directory)}, directory)
        spec = task.namespace_files
        if spec and spec.get("enabled", True):
            ex.services.namespace_files.copy_into(ex.flow.namespace, directory, spec.get("include"),
                                                  spec.get("exclude"))
        inner = scope.child(taskrun)
        inner.shared_dir = directory
        yield inner
        if task.output_files:
            patterns = [str(p) for p in ex.render(task.output_files, variables)]
            ex.set_outputs(taskrun, {"outputFiles": collect_output_files(ex, patterns, directory, taskrun)})
    finally:
        shutil.rmtree(directory, ignore_errors=True)
