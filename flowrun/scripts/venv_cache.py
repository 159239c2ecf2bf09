"""The cache of script-task virtualenvs under the state dir: list them (size, last use) and prune them."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flowrun.scripts.venvs import LAST_USED, META, file_lock, venvs_root


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _last_used(path: Path) -> float:
    for marker in (path / LAST_USED, path / META, path):
        try:
            return marker.stat().st_mtime
        except OSError:
            continue
    return 0.0


def list_venvs(state_dir: Path) -> list[dict[str, Any]]:
    """One dict per cached venv: key, path, python, requirements, created, lastUsed, sizeBytes, ready."""
    root = venvs_root(state_dir)
    if not root.is_dir():
        return []
    rows = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            meta = json.loads((path / META).read_text())
        except (OSError, ValueError):
            meta = {}
        rows.append({
            "key": path.name, "path": str(path), "python": meta.get("python"),
            "requirements": meta.get("requirements", []), "created": meta.get("created"),
            "lastUsed": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(_last_used(path))),
            "sizeBytes": _size(path), "ready": bool(meta),
        })
    return rows


def prune_venvs(state_dir: Path, older_than: timedelta | None = None) -> list[str]:
    """Delete cached venvs not used for `older_than` (all when None); skips venvs being built. Returns keys."""
    root = venvs_root(state_dir)
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds() if older_than is not None else None
    removed = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        if cutoff is not None and _last_used(path) > cutoff:
            continue
        with file_lock(root / f"{path.name}.lock", blocking=False) as taken:
            if not taken:
                continue
            shutil.rmtree(path, ignore_errors=True)
            (root / f"{path.name}.requirements.txt").unlink(missing_ok=True)
            removed.append(path.name)
    return removed
