"""Apply a sync to one namespace's files: an atomic tree swap in a local dir, file by file in an object store."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flowrun.gitops.tree import ADDED, DELETED, UPDATED, Change, Content, apply_changes, plan_changes
from flowrun.storage.namespace_files import NamespaceFiles


def sync_namespace(files: NamespaceFiles, namespace: str, wanted: Mapping[str, Content], delete: bool,
                   dry_run: bool) -> list[Change]:
    """Make the namespace hold `wanted` (plus its other files unless `delete`); returns every file's change.

    In a local directory (the project's namespace_files/, or a shared dir) the new tree replaces the old one
    in one swap. In a gs:// storage each file is uploaded or deleted in turn: a failure midway leaves the
    files done so far (an object store has no directory to swap)."""
    files.namespace_dir(namespace)  # refuses a bad namespace name
    deletable = (lambda rel: True) if delete else None
    local = files.backend.local_file(namespace)
    if local is not None:
        changes = plan_changes(Path(local), wanted, deletable)
        if not dry_run:
            apply_changes(Path(local), changes)
        return changes
    changes = plan_changes(Path("."), wanted, deletable, existing=files.list(namespace),
                           read=lambda rel: files.read_bytes(namespace, rel))
    if not dry_run:
        _apply_to_store(files, namespace, changes)
    return changes


def _apply_to_store(files: NamespaceFiles, namespace: str, changes: list[Change]) -> None:
    for change in changes:
        if change.state == DELETED:
            files.delete(namespace, change.path)
        elif change.state in (ADDED, UPDATED):
            content = change.content
            if isinstance(content, Path):
                files.copy_from(namespace, change.path, content)
            else:
                files.write(namespace, change.path, content or b"")
    files.prune_empty_dirs(namespace, [c.path for c in changes if c.state == DELETED])
