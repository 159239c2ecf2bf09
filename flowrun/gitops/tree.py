"""Replace a directory tree atomically: plan the changes (added, updated, unchanged, deleted), stage, swap.

`apply_changes` builds the new tree in a staging dir beside the target (unchanged files hard-linked, new
content written as new files), lets a check inspect it, then swaps it in with one `renameat2(RENAME_EXCHANGE)`
(two renames where the kernel lacks it). Readers see the old tree or the new one, never a mix; a failure or a
kill before the swap leaves the old tree as it was, and the next sync removes the staging dir left behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.errors import StateError

ADDED, UPDATED, UNCHANGED, DELETED = "ADDED", "UPDATED", "UNCHANGED", "DELETED"
Content = bytes | Path


@dataclass(frozen=True)
class Change:
    """What a sync does to one file of the target tree (`path` is relative, `/`-separated)."""

    state: str
    path: str
    content: Content | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)


def list_files(root: Path) -> list[str]:
    """Relative paths of the regular files under `root` (sorted); hidden staging dirs are not inside it."""
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _read(content: Content) -> bytes:
    return content.read_bytes() if isinstance(content, Path) else content


def plan_changes(target: Path, wanted: Mapping[str, Content], deletable: Callable[[str], bool] | None = None,
                 existing: list[str] | None = None, read: Callable[[str], bytes] | None = None) -> list[Change]:
    """The changes that make `target` hold `wanted` (path -> bytes or source file).

    Files of `target` not wanted are DELETED when `deletable(path)` says so (kept when it is None).
    `existing` and `read` list and read the present files when they are not in the local dir `target`."""
    present = set(list_files(target) if existing is None else existing)
    read = read or (lambda rel: (target / rel).read_bytes())
    changes = []
    for rel in sorted(wanted):
        content = wanted[rel]
        if rel not in present:
            changes.append(Change(ADDED, rel, content))
        else:
            same = read(rel) == _read(content)
            changes.append(Change(UNCHANGED if same else UPDATED, rel, content))
    if deletable is not None:
        changes += [Change(DELETED, rel) for rel in sorted(present - set(wanted)) if deletable(rel)]
    return changes


def apply_changes(target: Path, changes: list[Change], check: Callable[[Path], None] | None = None) -> None:
    """Make `target` reflect `changes` atomically; `check(staging_dir)` may raise to abandon the sync."""
    if all(change.state == UNCHANGED for change in changes):
        return
    try:
        _apply(target, changes, check)
    except OSError as exc:
        raise StateError(f"cannot update {target}: {exc.strerror or exc} ({exc.filename or target}); "
                         "its previous files are unchanged",
                         hint="check that the directory and its parent are writable and the disk has room") from None


def _apply(target: Path, changes: list[Change], check: Callable[[Path], None] | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        _remove_leftovers(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.sync-", dir=target.parent))
        try:
            _link_tree(target, staging)
            for change in changes:
                _stage(staging, change)
            if check is not None:
                check(staging)
            _swap(target, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # after the swap it holds the old tree


def _stage(staging: Path, change: Change) -> None:
    path = staging / change.path
    if change.state == UNCHANGED:
        return
    if change.state == DELETED:
        path.unlink(missing_ok=True)
        _prune_empty(path.parent, staging)
        return
    for parent in reversed(path.relative_to(staging).parents):  # a file where a directory must go
        if (staging / parent).is_file():
            (staging / parent).unlink()
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a hard link to the live file: never write through it
    if isinstance(change.content, Path):
        shutil.copyfile(change.content, path)
    else:
        path.write_bytes(change.content or b"")


def _prune_empty(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link every file of `source` into `dest` (copy when linking is refused), keeping directories."""
    if not source.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        for name in dirnames:
            (dest / rel / name).mkdir(exist_ok=True)
        for name in filenames:
            src, dst = Path(dirpath) / name, dest / rel / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def _swap(target: Path, staging: Path) -> None:
    """Put `staging` in place of `target`; afterwards `staging` names the old tree (or nothing)."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, old / "tree")
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old / "tree", target)
        raise
    os.rename(old / "tree", staging)
    old.rmdir()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with renameat2(RENAME_EXCHANGE); False when the system cannot."""
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """One sync of `target` at a time (across processes)."""
    with open(target.parent / f".{target.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    """Staging dirs of a sync that was killed (the lock is held, so no sync is using them)."""
    for prefix in (f".{target.name}.sync-", f".{target.name}.old-"):
        for path in target.parent.glob(prefix + "*"):
            if path.is_dir():
                if prefix.endswith(".old-") and (path / "tree").is_dir() and not target.exists():
                    os.rename(path / "tree", target)  # killed between the two renames of the fallback
                shutil.rmtree(path, ignore_errors=True)
