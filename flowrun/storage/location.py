"""Choosing a project's storage: `storage:` (or FLOWRUN_STORAGE) names a shared dir or a gs:// bucket, else `<home>/storage`."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from flowrun.storage.backend import LocalBackend, StorageBackend
from flowrun.storage.cache import process_cache_dir
from flowrun.storage.internal import InternalStorage
from flowrun.storage.namespace_files import NamespaceFiles
from flowrun.storage.spec import StorageSpec, parse_storage

if TYPE_CHECKING:
    from flowrun.project import Project

ENV = "FLOWRUN_STORAGE"
#: the prefix of a shared storage under which namespace files live (`namespace_files/<namespace>/<path>`)
NAMESPACE_PREFIX = "namespace_files"
_PUBLISHED: set[tuple[str, str]] = set()
_PUBLISH_LOCK = threading.Lock()


def storage_spec(project: Project) -> StorageSpec | None:
    """The project's shared storage: FLOWRUN_STORAGE, then `storage` in flowrun.yaml; None: the state dir's."""
    env = os.environ.get(ENV, "").strip()
    if env:
        return parse_storage(env, Path.cwd(), ENV)
    if project.config.storage:
        return parse_storage(project.config.storage, project.root, "`storage` in flowrun.yaml")
    return None


def _backend(spec: StorageSpec, project: Project) -> StorageBackend:
    if spec.path is not None:
        return LocalBackend(spec.path)
    from flowrun.gcp.clients import emulator_endpoint
    from flowrun.storage.gcs_backend import GcsBackend

    return GcsBackend(str(spec.bucket), spec.prefix, emulator_endpoint("storage", project.config.emulators))


def _child(backend: StorageBackend, name: str) -> StorageBackend:
    if isinstance(backend, LocalBackend):
        return LocalBackend(backend.root / name)
    return backend.child(name)  # type: ignore[attr-defined, no-any-return]


def open_storage(project: Project) -> tuple[InternalStorage, NamespaceFiles]:
    """The internal storage and namespace files of a project (nothing is contacted before first use)."""
    spec = storage_spec(project)
    if spec is None:
        return InternalStorage(project.storage_dir), NamespaceFiles(project.namespace_files_dir)

    def cache() -> Path:
        return process_cache_dir(project.home)

    backend = _backend(spec, project)
    return InternalStorage(backend, cache), NamespaceFiles(_child(backend, NAMESPACE_PREFIX), cache)


def publish_namespace_files(project: Project, files: NamespaceFiles) -> list[str]:
    """With a shared storage, upload the project's local `namespace_files/` dir into it (new and changed files).

    Done once per process, when it starts its first execution; a project without the dir (a worker) uploads
    nothing and reads what is in the storage. Returns the keys uploaded.
    """
    local = project.namespace_files_dir
    if storage_spec(project) is None or not local.is_dir():
        return []
    marker = (str(local.resolve()), files.backend.location)
    with _PUBLISH_LOCK:
        if marker in _PUBLISHED:
            return []
        uploaded = files.publish(local)
        _PUBLISHED.add(marker)
    return uploaded
