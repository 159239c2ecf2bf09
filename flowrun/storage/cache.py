"""This process's local copies of remote stored files: one dir under the state dir, removed when the process exits."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

_CREATED: dict[Path, Path] = {}
_LOCK = threading.Lock()


def process_cache_dir(home: Path) -> Path:
    """`<home>/cache/storage/<pid>-<random>/`, created on first use in this process (same dir afterwards).

    The dirs of processes that are gone (killed before their exit hook ran) are removed on the way.
    """
    parent = Path(home) / "cache" / "storage"
    with _LOCK:
        if parent not in _CREATED:
            parent.mkdir(parents=True, exist_ok=True)
            _prune_dead(parent)
            mine = parent / f"{os.getpid()}-{os.urandom(4).hex()}"
            mine.mkdir()
            atexit.register(_remove, mine, os.getpid())
            _CREATED[parent] = mine
        return _CREATED[parent]


def _remove(path: Path, owner: int) -> None:
    if os.getpid() == owner:  # a forked child that exits normally leaves its parent's dir alone
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def _prune_dead(parent: Path) -> None:
    for entry in parent.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            import shutil

            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_process_dirs() -> None:
    """Forget the dirs made before a fork: a child process makes its own (its parent removes the old one)."""
    with _LOCK:
        _CREATED.clear()


os.register_at_fork(after_in_child=forget_process_dirs)
