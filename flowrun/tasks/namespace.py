"""Kestra's namespace file tasks: UploadFiles, DownloadFiles and DeleteFiles, on the project's namespace files."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.lite import model_validator
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.props import choice, flag, mapping, strings, text

CONFLICTS = ("OVERWRITE", "ERROR", "SKIP")


def _join(ctx: RunContext, folder: str, rel: str) -> str:
    """`folder` + `rel` as one namespace path, without a leading slash (`/a` + `b/c` -> `a/b/c`); a path that
    climbs out of the namespace with `..` fails the task."""
    joined = posixpath.normpath(posixpath.join(folder.strip().lstrip("/"), rel.strip().lstrip("/")))
    if joined in (".", "..") or joined.startswith("../"):
        raise TaskError(f"task `{ctx.task_id}`: namespace file path `{posixpath.join(folder, rel)}` escapes the "
                        "namespace", {"hint": "use a path relative to the namespace, without `..`"})
    return joined


def _store(ctx: RunContext) -> Any:
    return ctx.services().namespace_files


def _patterns(ctx: RunContext, value: Any) -> list[str]:
    patterns = strings(ctx, value, "files")
    if not patterns:
        raise TaskError(f"task `{ctx.task_id}`: `files` selects nothing", {"hint": 'use "**" for every file'})
    return patterns


def _checked(ctx: RunContext, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except FlowrunError as exc:
        raise TaskError(f"task `{ctx.task_id}`: {exc.message}", {"hint": exc.hint} if exc.hint else {}) from None


class UploadFiles(Task):
    """Upload files to the namespace files of `namespace`: `files`, globs of files of the working directory
    (use it inside a WorkingDirectory; `glob:` and `regex:` prefixes as Kestra), and/or `filesMap`, a map of
    namespace path to kestra:// URI (or a JSON object of them, such as another task's file map). Files land
    under `destination` (default `/`). `conflict` says what to do when a file exists: OVERWRITE (default),
    ERROR or SKIP. A `filesMap` URI that does not exist is skipped with a warning."""

    namespace: str
    files: list[str] | str | None = None
    files_map: dict[str, Any] | str | None = None
    destination: str = "/"
    conflict: str = "OVERWRITE"

    @model_validator(mode="after")
    def _something(self) -> UploadFiles:
        if self.files is None and self.files_map is None:
            from pydantic_core import PydanticCustomError

            raise PydanticCustomError("files_or_map", "set `files` (globs of working-directory files) or "
                                      "`filesMap` (namespace path: kestra:// URI)")
        return self

    def run(self, ctx: RunContext) -> dict[str, Any]:
        namespace = str(ctx.render(self.namespace))
        destination = text(ctx, self.destination) or "/"
        conflict = choice(ctx, self.conflict, "conflict", CONFLICTS)
        sources: dict[str, Path] = {}
        if self.files is not None:
            sources.update(self._working_dir_files(ctx, destination))
        if self.files_map is not None:
            sources.update(self._mapped_files(ctx, destination))
        store = _store(ctx)
        uploaded = 0
        for rel, source in sources.items():
            if _checked(ctx, store.exists, namespace, rel):
                if conflict == "ERROR":
                    raise TaskError(f"task `{ctx.task_id}`: namespace file `{rel}` already exists in `{namespace}`",
                                    {"hint": "set conflict: OVERWRITE or SKIP"})
                if conflict == "SKIP":
                    ctx.logger.debug(f"skipped {rel}: it already exists")
                    continue
            _checked(ctx, store.copy_from, namespace, rel, source)
            uploaded += 1
        ctx.logger.info(f"uploaded {uploaded} file(s) to namespace {namespace}")
        return {}

    def _working_dir_files(self, ctx: RunContext, destination: str) -> dict[str, Path]:
        from flowrun.scripts.files import match_output_files

        directory = ctx.working_dir()
        patterns = strings(ctx, self.files, "files")
        rels = match_output_files(directory, patterns, warn=ctx.logger.warn)
        return {_join(ctx, destination, rel): directory / rel for rel in rels}

    def _mapped_files(self, ctx: RunContext, destination: str) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for rel, uri in mapping(ctx, self.files_map, "filesMap").items():
            if not isinstance(uri, str):
                raise TaskError(f"task `{ctx.task_id}`: `filesMap` values must be kestra:// URIs, got {uri!r}")
            try:
                found[_join(ctx, destination, str(rel))] = ctx.storage.local_path(uri.strip())
            except FlowrunError as exc:
                ctx.logger.warn(f"filesMap: skipped `{rel}`: {exc.message}")
        return found


class DownloadFiles(Task):
    """Copy the namespace files of `namespace` matching `files` (one glob or a list; `**` crosses folders,
    `glob:` and `regex:` prefixes as Kestra) into this task run's internal storage, below `destination`.
    Output: `files`, a map of namespace path (`/a/b.txt`) to kestra:// URI."""

    namespace: str
    files: list[str] | str
    destination: str = ""

    def run(self, ctx: RunContext) -> dict[str, Any]:
        namespace = str(ctx.render(self.namespace))
        destination = text(ctx, self.destination) or ""
        store = _store(ctx)
        downloaded: dict[str, str] = {}
        for rel in _checked(ctx, store.list, namespace, _patterns(ctx, self.files)):
            source = _checked(ctx, store.path, namespace, rel)
            downloaded["/" + rel] = ctx.storage.put_file(source, _join(ctx, destination, rel))
        ctx.metric("downloaded", "counter", float(len(downloaded)))
        return {"files": downloaded}


class DeleteFiles(Task):
    """Delete the namespace files of `namespace` matching `files` (one glob or a list, as DownloadFiles);
    with `deleteParentFolder`, folders left empty are removed too. The metric `deleted` counts the files."""

    namespace: str
    files: list[str] | str
    delete_parent_folder: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        namespace = str(ctx.render(self.namespace))
        store = _store(ctx)
        prune = flag(ctx, self.delete_parent_folder, "deleteParentFolder")
        matched = _checked(ctx, store.list, namespace, _patterns(ctx, self.files))
        deleted = [rel for rel in matched if _checked(ctx, store.delete, namespace, rel)]
        for rel in deleted:
            ctx.logger.debug(f"deleted {rel}")
        if deleted and prune:
            for folder in _checked(ctx, store.prune_empty_dirs, namespace, deleted):
                ctx.logger.debug(f"deleted empty folder {folder}")
        ctx.metric("deleted", "counter", float(len(deleted)))
        return {}
